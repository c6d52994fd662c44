"""How free executor slots are shared between accounts: round robin, capped per account."""

from __future__ import annotations


def share_slots(
    accounts: list[str], in_flight: dict[str, int], per_account_limit: int, free: int, start: int = 0
) -> dict[str, int]:
    """Hand out `free` slots one at a time, in turn, beginning with `accounts[start % n]`.

    No account goes beyond `per_account_limit` tiles in flight (counting `in_flight`).
    """
    shares = {a: 0 for a in accounts}
    if not accounts or free <= 0:
        return shares
    order = accounts[start % len(accounts) :] + accounts[: start % len(accounts)]
    room = {a: max(per_account_limit - in_flight.get(a, 0), 0) for a in order}
    while free > 0 and any(room.values()):
        for a in order:
            if free > 0 and room[a] > 0:
                shares[a] += 1
                room[a] -= 1
                free -= 1
    return shares
