#!/usr/bin/env python3
"""Reads an image by HTTP Range as goldroot-blockd does: fixed units (64 KiB),
one kept-alive connection, each answer exactly 206 with the Content-Range
asked for (anything else fails, as blockd/range_client.h refuses it).

  range_reader.py URL SIZE --source IP --order forward|backward|shuffle
                  [--units N --seed S] [--unit BYTES] [--out FILE]

--units N reads N units picked at random (by --seed) instead of all, and
prints them (one index a line) to --out; reading all prints the sha256 of
the reassembled image on stdout.
"""
import argparse
import hashlib
import http.client
import random
import sys
import urllib.parse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("size", type=int)
    parser.add_argument("--source", default="")
    parser.add_argument("--order", default="forward")
    parser.add_argument("--unit", type=int, default=65536)
    parser.add_argument("--units", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    url = urllib.parse.urlsplit(args.url)
    connection = http.client.HTTPConnection(
        url.hostname, url.port or 80, timeout=60,
        source_address=(args.source, 0) if args.source else None)
    count = (args.size + args.unit - 1) // args.unit
    indexes = list(range(count))
    rng = random.Random(args.seed)
    if args.units:
        indexes = sorted(rng.sample(indexes, min(args.units, count)))
    if args.order == "backward":
        indexes.reverse()
    elif args.order == "shuffle":
        rng.shuffle(indexes)
    pieces = {}
    for index in indexes:
        first = index * args.unit
        last = min(args.size, first + args.unit) - 1
        connection.request("GET", url.path, headers={"Range": f"bytes={first}-{last}"})
        response = connection.getresponse()
        body = response.read()
        expected = f"bytes {first}-{last}/{args.size}"
        if response.status != 206 or response.getheader("Content-Range") != expected \
                or len(body) != last - first + 1:
            sys.exit(f"range {first}-{last}: {response.status} "
                     f"{response.getheader('Content-Range')} {len(body)} bytes")
        pieces[index] = body
    if args.units:
        if args.out:
            with open(args.out, "w") as out:
                out.write("".join(f"{index}\n" for index in sorted(pieces)))
        return
    digest = hashlib.sha256()
    for index in range(count):
        digest.update(pieces[index])
    print(digest.hexdigest())


if __name__ == "__main__":
    main()
