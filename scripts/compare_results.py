#!/usr/bin/env python3
# scripts/compare_results.py A.json B.json: are two results.json files the same but for timings?
# Fields whose name contains "seconds", and "started_utc" and "commit", are left out; every other
# value is compared exactly (numbers as JSON writes them). Prints each difference with its path
# (at most 20 values) and the count; exit 0 when there is none, 1 otherwise. Used to check that a
# refactor leaves the main job's results bit for bit as they were (docs/EXPERIMENT.md).
# Standard library only.
import json, sys, re
def strip(x, path=""):
    if isinstance(x, dict):
        return {k: strip(v, path + "." + k) for k, v in x.items()
                if not re.search(r"seconds|started_utc|^commit$", k)}
    if isinstance(x, list):
        return [strip(v, path) for v in x]
    return x
a = strip(json.load(open(sys.argv[1])))
b = strip(json.load(open(sys.argv[2])))
shown = [0]
def diff(x, y, p=""):
    n = 0
    if type(x) != type(y):
        print("type", p, type(x), type(y)); return 1
    if isinstance(x, dict):
        for k in sorted(set(x) | set(y)):
            if k not in x or k not in y:
                print("key", p + "." + k, "only in", "a" if k in x else "b"); n += 1
            else:
                n += diff(x[k], y[k], p + "." + k)
    elif isinstance(x, list):
        if len(x) != len(y):
            print("len", p, len(x), len(y)); return 1
        for i, (u, v) in enumerate(zip(x, y)): n += diff(u, v, p + "[%d]" % i)
    elif x != y:
        shown[0] += 1
        if shown[0] <= 20: print("value", p, repr(x), repr(y))
        n += 1
    return n
n = diff(a, b)
print("differences:", n)
sys.exit(1 if n else 0)
