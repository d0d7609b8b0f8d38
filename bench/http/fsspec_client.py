#!/usr/bin/python3
"""The Python fsspec peer of the HTTP benchmark (bench/http/run_bench.py runs it).

    fsspec_client.py cat LISTFILE BATCH   fs.cat(urls, batch_size=BATCH): all bodies into one dict
    fsspec_client.py cat_file URL         fs.cat_file(url): one body into memory
    fsspec_client.py get URL PATH         fs.get(url, path): stream one body into a local file
    fsspec_client.py noop                 imports and creates the filesystem only (startup cost)

Prints one line, `files=N bytes=B seconds=T`, like `asyncfs cat --discard`: T is measured
inside the process, after the imports (the harness measures the whole process as well).
Exit code 0 only if every file arrived complete (bytes are counted, not trusted).
"""
import os
import sys
import time

import fsspec


def main(argv):
    mode = argv[1]
    fs = fsspec.filesystem("http")
    files = 0
    nbytes = 0
    t0 = time.perf_counter()
    if mode == "cat":
        with open(argv[2]) as f:
            urls = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        out = fs.cat(urls, batch_size=int(argv[3]))
        files = len(out)
        nbytes = sum(len(v) for v in out.values())
        del out
    elif mode == "cat_file":
        data = fs.cat_file(argv[2])
        files, nbytes = 1, len(data)
        del data
    elif mode == "get":
        fs.get(argv[2], argv[3])
        files, nbytes = 1, os.path.getsize(argv[3])
    elif mode != "noop":
        print(f"fsspec_client: unknown mode {mode!r}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    print(f"files={files} bytes={nbytes} seconds={seconds:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
