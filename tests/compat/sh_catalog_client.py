"""Run by test_sentinelhub_catalog.py inside a virtualenv with sentinelhub-py (not imported by pytest).

Drives eobatch's Catalog API with the real `SentinelHubCatalog` and its Process API with the real
`SentinelHubRequest`, and prints one JSON object with what it observed. Arguments: base URL, client id,
client secret.
"""

import json
import sys

from sentinelhub import CRS, BBox, DataCollection, Geometry, MimeType, SentinelHubCatalog, SentinelHubRequest, SHConfig
from sentinelhub.api.catalog import get_available_timestamps

# around the real Sentinel-2 sample scenes near Ljubljana
BBOX = BBox((14.50, 45.80, 14.60, 45.90), crs=CRS.WGS84)
AREA_UTM = Geometry(
    {
        "type": "Polygon",
        "coordinates": [
            [[465500, 5079500], [465900, 5079500], [465900, 5079900], [465500, 5079900], [465500, 5079500]]
        ],
    },
    CRS("32633"),
)
TIME = ("2015-07-01", "2015-09-30")
WINDOW = BBox((465400, 5079400, 465800, 5079800), crs=CRS("32633"))
EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04"], output: {bands: 3, sampleType: "UINT16"}};
}
function evaluatePixel(s) { return [10000 * s.B04, 10000 * s.B03, 10000 * s.B02]; }
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {script: "rgb"};
}
"""


def process(config, local_l1c, responses):
    request = SentinelHubRequest(
        evalscript=EVALSCRIPT,
        input_data=[SentinelHubRequest.input_data(data_collection=local_l1c, time_interval=TIME, maxcc=0.5)],
        responses=responses,
        bbox=WINDOW,
        resolution=(20, 20),
        config=config,
    )
    return request.get_data()[0]


def main(base_url, client_id, client_secret):
    config = SHConfig(
        use_defaults=True,
        sh_client_id=client_id,
        sh_client_secret=client_secret,
        sh_base_url=base_url,
        sh_token_url=f"{base_url}/auth/realms/main/protocol/openid-connect/token",
        max_download_attempts=1,
    )
    catalog = SentinelHubCatalog(config=config)
    out = {
        "info_links": sorted({link["rel"] for link in catalog.get_info()["links"]}),
        "conforms": catalog.get_conformance()["conformsTo"],
        "collections": [c["id"] for c in catalog.get_collections()],
        "collection": catalog.get_collection(DataCollection.SENTINEL2_L1C)["id"],
    }
    everything = catalog.search(DataCollection.SENTINEL2_L1C, bbox=BBOX, time=TIME, limit=2)
    out["all_ids"] = everything.get_ids()
    out["all_timestamps"] = [t.isoformat() for t in everything.get_timestamps()]
    clear = catalog.search(
        DataCollection.SENTINEL2_L1C,
        bbox=BBOX,
        time=TIME,
        filter="eo:cloud_cover < 30",
        fields={"include": ["id", "properties.datetime", "properties.eo:cloud_cover"], "exclude": []},
    )
    clear_items = list(clear)
    out["clear"] = [[i["id"], i["properties"]["eo:cloud_cover"], sorted(i)] for i in clear_items]
    august = ("2015-08-01", "2015-08-31")
    out["by_geometry"] = catalog.search("sentinel-2-l1c", geometry=AREA_UTM, time=august).get_ids()
    out["json_filter"] = catalog.search(
        DataCollection.SENTINEL2_L1C,
        bbox=BBOX,
        time=TIME,
        filter={"op": ">=", "args": [{"property": "eo:cloud_cover"}, 50]},
        filter_lang="cql2-json",
    ).get_ids()
    # the predefined collection names Sentinel Hub's own host as its service_url; point a copy at eobatch
    local_l1c = DataCollection.SENTINEL2_L1C.define_from("EOBATCH_S2_L1C", service_url=base_url)
    timestamps = get_available_timestamps(BBOX, TIME, local_l1c, maxcc=0.5, config=config)
    out["timestamps_maxcc"] = [t.isoformat() for t in timestamps]
    out["far_away"] = catalog.search(
        DataCollection.SENTINEL2_L1C, bbox=BBox((-60, -10, -59, -9), crs=CRS.WGS84), time=TIME
    ).get_ids()
    tiff = process(config, local_l1c, [SentinelHubRequest.output_response("default", MimeType.TIFF)])
    out["tiff"] = {"shape": list(tiff.shape), "dtype": str(tiff.dtype), "values": tiff.tolist()}
    png = process(config, local_l1c, [SentinelHubRequest.output_response("default", MimeType.PNG)])
    out["png"] = {"shape": list(png.shape), "dtype": str(png.dtype)}
    both = process(
        config,
        local_l1c,
        [
            SentinelHubRequest.output_response("default", MimeType.TIFF),
            SentinelHubRequest.output_response("userdata", MimeType.JSON),
        ],
    )
    out["multi"] = {"names": sorted(both), "userdata": both["userdata.json"], "same": both["default.tif"].tolist()}
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:4])
