#!/usr/bin/env bash
# scripts/setup.sh [build|test|run|peer]...: installs the Debian packages dma needs, idempotently.
#   build  compilers, CMake and the header libraries (Eigen, xtensor, Boost.Hana, nlohmann-json)
#   test   build + Catch2 + OpenMPI (the 2-rank collection test) + clang and its libFuzzer/
#          sanitizer runtimes (scripts/fuzz.sh; Debian 12: clang-14's libclang-rt-14-dev)
#   run    build + OpenMPI + gnuplot (plots) + the tools data preparation uses (npm, dictd readers)
#   peer   Debian's python3-torch with OpenBLAS (reference fixtures and benchmark peers only)
# Packages already installed are not touched; apt-get runs only when something is missing.
set -euo pipefail

want=(build-essential cmake pkg-config libeigen3-dev libxtensor-dev libboost-dev
      nlohmann-json3-dev zlib1g-dev)
for group in "${@:-build}"; do
  case "$group" in
    build) ;;
    test) want+=(catch2 libopenmpi-dev openmpi-bin clang libclang-rt-14-dev) ;;
    run) want+=(libopenmpi-dev openmpi-bin gnuplot-nox npm man-db groff-base bsdextrautils python3) ;;
    peer) want+=(python3-torch libopenblas0-pthread python3-numpy) ;;
    *) echo "setup.sh: unknown group '$group' (expected build, test, run or peer)" >&2; exit 2 ;;
  esac
done

# A tool that is already on PATH from elsewhere counts as present: e.g. NodeSource's nodejs ships
# its own npm and conflicts with Debian's npm package, which apt then refuses to install.
declare -A provides=([npm]=npm [python3]=python3 [gnuplot-nox]=gnuplot)
missing=()
for p in "${want[@]}"; do
  if [[ -n ${provides[$p]:-} ]] && command -v "${provides[$p]}" >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "setup.sh: all ${#want[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
