/**
 * The Python program that starts moto with a seeded EC2 DescribeSpotPriceHistory (run with
 * `python -c`; its docstring says why and how).
 */
export const seededMotoPython = String.raw`"""moto_server with a seeded EC2 DescribeSpotPriceHistory.

moto 5.2 answers DescribeSpotPriceHistory with one record per instance type offering of the
region (product "Linux/UNIX (Amazon VPC)", price 0.00001, timestamp 2006-01-02T15:04:05Z), ignores
MaxResults, NextToken, ProductDescriptions, StartTime and EndTime, and has no API to seed it. This
launcher replaces that one handler (everything else, the request parsing, the query protocol's
XML and the server, stays moto's) so that it serves the records of the JSON file named by
MOTO_SPOT_SEED ({"<region>": [{"InstanceType", "ProductDescription", "SpotPrice",
"AvailabilityZone", "Timestamp"}, ...]}) as AWS documents the call: filtered by InstanceTypes,
ProductDescriptions, AvailabilityZone and the [StartTime, EndTime] window plus the last change
before StartTime (the price in effect at the start), newest first, in pages
of MaxResults (default 1000) chained by NextToken.

Usage: python -c "<this program>" -H 127.0.0.1 -p <port>   (the arguments of moto_server)
"""

import json
import os
import sys
from datetime import datetime, timezone

from moto.core.responses import ActionResult
from moto.ec2.responses.spot_instances import SpotInstances


def _time(value):
    """A request time (moto parses it into a datetime) or a seed timestamp (ISO-8601 text)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


with open(os.environ["MOTO_SPOT_SEED"], encoding="utf-8") as f:
    SEED = json.load(f)


def describe_spot_price_history(self):
    types = set(self._get_param("InstanceTypes", []) or [])
    products = set(self._get_param("ProductDescriptions", []) or [])
    zone = self._get_param("AvailabilityZone")
    start = _time(self._get_param("StartTime"))
    end = _time(self._get_param("EndTime"))
    max_results = self._get_int_param("MaxResults") or 1000
    offset = int(self._get_param("NextToken") or "0")
    rows = []
    # AWS also returns, per instance type, zone and product, the last price change before
    # StartTime: the price in effect at the start.
    before = {}
    for r in SEED.get(self.region, []):
        at = _time(r["Timestamp"])
        if types and r["InstanceType"] not in types:
            continue
        if products and r["ProductDescription"] not in products:
            continue
        if zone and r["AvailabilityZone"] != zone:
            continue
        if end is not None and at > end:
            continue
        if start is not None and at < start:
            k = (r["InstanceType"], r["AvailabilityZone"], r["ProductDescription"])
            if k not in before or _time(before[k]["Timestamp"]) < at:
                before[k] = r
            continue
        rows.append(r)
    rows.extend(before.values())
    rows.sort(key=lambda r: _time(r["Timestamp"]), reverse=True)
    page = rows[offset:offset + max_results]
    result = {"SpotPriceHistory": page}
    if offset + max_results < len(rows):
        result["NextToken"] = str(offset + max_results)
    return ActionResult(result)


SpotInstances.describe_spot_price_history = describe_spot_price_history

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
`
