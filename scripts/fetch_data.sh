#!/usr/bin/env bash
# Download the image data sets nnlab reads, verify them against their published MD5 checksums,
# and lay them out the way nnlab's loaders expect (needs internet access, curl or wget, md5sum,
# tar). Idempotent: whatever is already there and verified is not fetched again.
#
#   scripts/fetch_data.sh [--dir DIR] [--force] [--keep-archives] [SET ...]
#
#   SET            mnist, fashion-mnist, cifar10, cifar100 or all (the default)
#   --dir DIR      where to put them (default: data/ at the top of the repository)
#   --force        download again even if the files are present
#   --keep-archives  keep the CIFAR .tar.gz archives after unpacking (default: delete them)
#   FETCH_DATA_MIRROR=URL  fetch every file from URL/<file name> instead of the official hosts
#                  (e.g. an internal mirror, or file:///path/to/a/folder of downloaded files)
#
# What ends up in DIR, and the loader (datasets/) that reads it:
#
#   DIR/mnist/                 train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
#                              t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz
#                              → dataset "mnist" (default data.path "data/mnist"; reads .gz directly)
#   DIR/fashion-mnist/         the same four file names
#                              → dataset "fashion-mnist" with data.path "data/fashion-mnist" (its default
#                                path is the Debian package dataset-fashion-mnist's folder)
#   DIR/cifar-10-batches-bin/  data_batch_1.bin … data_batch_5.bin, test_batch.bin, batches.meta.txt
#                              → dataset "cifar10" (default data.path "data/cifar-10-batches-bin")
#   DIR/cifar-100-binary/      train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt
#                              → dataset "cifar100" (default data.path "data/cifar-100-binary")
#
# The CIFAR folders are the binary versions' archives (cifar-10-binary.tar.gz,
# cifar-100-binary.tar.gz) unpacked as they are. The default data.path values are relative to the
# directory nnlab runs in, so run nnlab from the top of the repository (or set data.path).
#
# Checksums: the MNIST and Fashion-MNIST MD5s are the ones torchvision's dataset classes publish;
# the CIFAR MD5s are those on the CIFAR home page. An unpacked CIFAR folder counts as present when
# every data file has its exact size (its archive is verified by MD5 before unpacking).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$repo/data"
force=0
keep_archives=0
sets=()

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() {
  echo "fetch_data: error: $*" >&2
  exit 1
}

while (($#)); do
  case "$1" in
    --dir)
      (($# >= 2)) || die "--dir needs a directory"
      dir="$2"
      shift 2
      ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    --force) force=1; shift ;;
    --keep-archives) keep_archives=1; shift ;;
    -h | --help) usage; exit 0 ;;
    mnist | fashion-mnist | cifar10 | cifar100) sets+=("$1"); shift ;;
    all) sets+=(mnist fashion-mnist cifar10 cifar100); shift ;;
    -*) die "unknown option '$1' (try --help)" ;;
    *) die "unknown data set '$1'; choose from mnist, fashion-mnist, cifar10, cifar100, all" ;;
  esac
done
((${#sets[@]})) || sets=(mnist fashion-mnist cifar10 cifar100)

# ---- tools ----------------------------------------------------------------------------------------

if command -v curl >/dev/null 2>&1; then
  downloader=curl
elif command -v wget >/dev/null 2>&1; then
  downloader=wget
else
  die "neither curl nor wget is installed (Debian: apt-get install curl)"
fi
if command -v md5sum >/dev/null 2>&1; then
  md5_of() { md5sum "$1" | cut -d' ' -f1; }
elif command -v md5 >/dev/null 2>&1; then
  md5_of() { md5 -q "$1"; }
else
  die "md5sum is not installed (Debian: coreutils)"
fi
command -v tar >/dev/null 2>&1 || die "tar is not installed"

file_size() { wc -c <"$1" | tr -d ' '; }

# fetch URL OUT: download to OUT (through OUT.part, so an interrupted download never looks complete).
fetch() {
  local url="$1" out="$2" rc=0
  rm -f "$out.part"
  if [[ $downloader == curl ]]; then
    curl -fL --retry 3 --connect-timeout 30 --progress-bar -o "$out.part" "$url" || rc=$?
  else
    wget --tries=3 --timeout=30 -q --show-progress -O "$out.part" "$url" || rc=$?
  fi
  if ((rc != 0)); then
    rm -f "$out.part"
    echo "fetch_data:   download failed ($downloader exit code $rc): $url" >&2
    return 1
  fi
  mv -f "$out.part" "$out"
}

# get NAME MD5 DEST_DIR URL_BASE...: DEST_DIR/NAME with the given MD5, from the first base that
# serves it correctly. Already there and correct: nothing to do.
get() {
  local name="$1" md5="$2" dest="$3"
  shift 3
  local bases=("$@") out="$dest/$name" got
  [[ -n ${FETCH_DATA_MIRROR:-} ]] && bases=("${FETCH_DATA_MIRROR%/}/")
  if [[ -f $out && $force == 0 ]]; then
    got="$(md5_of "$out")"
    if [[ $got == "$md5" ]]; then
      echo "fetch_data: $out: present, MD5 verified"
      return 0
    fi
    echo "fetch_data: $out: MD5 $got, expected $md5; downloading it again"
  fi
  mkdir -p "$dest"
  local base
  for base in "${bases[@]}"; do
    echo "fetch_data: $name ← $base"
    fetch "$base$name" "$out" || continue
    got="$(md5_of "$out")"
    if [[ $got == "$md5" ]]; then
      echo "fetch_data: $out: MD5 verified"
      return 0
    fi
    echo "fetch_data:   $base$name has MD5 $got, expected $md5 (a changed or damaged file); discarded" >&2
    rm -f "$out"
  done
  die "could not get a verified $name (tried: ${bases[*]}); check the network or set FETCH_DATA_MIRROR"
}

# ---- MNIST and Fashion-MNIST (four gzip-compressed IDX files each) --------------------------------

fetch_idx_set() {
  local label="$1" dest="$2"
  shift 2
  local -a files=("$@")
  local -a bases=()
  case "$label" in
    mnist) bases=("https://ossci-datasets.s3.amazonaws.com/mnist/" "http://yann.lecun.com/exdb/mnist/") ;;
    fashion-mnist)
      bases=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
             "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")
      ;;
  esac
  local entry
  for entry in "${files[@]}"; do
    get "${entry%%:*}" "${entry##*:}" "$dest" "${bases[@]}"
  done
  echo "fetch_data: $label ready in $dest"
}

fetch_mnist() {
  fetch_idx_set mnist "$dir/mnist" \
    train-images-idx3-ubyte.gz:f68b3c2dcbeaaa9fbdd348bbdeb94873 \
    train-labels-idx1-ubyte.gz:d53e105ee54ea40749a09fcbcd1e9432 \
    t10k-images-idx3-ubyte.gz:9fb629c4189551a2d022fa330f9573f3 \
    t10k-labels-idx1-ubyte.gz:ec29112dd5afa0611ce80d1b7f02629c
}

fetch_fashion_mnist() {
  fetch_idx_set fashion-mnist "$dir/fashion-mnist" \
    train-images-idx3-ubyte.gz:8d4fb7e6c68d591d4c3dfef9ec88bf0d \
    train-labels-idx1-ubyte.gz:25c81989df183df01b3e8a0aad5dffbe \
    t10k-images-idx3-ubyte.gz:bef4ecab320f06d8554ea6380940ec79 \
    t10k-labels-idx1-ubyte.gz:bb300cfdad3c16e7a12a480ee83cd310
}

# ---- CIFAR (one .tar.gz each, unpacked into its own folder) ---------------------------------------

# cifar_complete FOLDER FILE:SIZE...: every data file is there with its exact size.
cifar_complete() {
  local folder="$1" entry
  shift
  [[ -d $folder ]] || return 1
  for entry in "$@"; do
    [[ -f "$folder/${entry%%:*}" ]] || return 1
    [[ $(file_size "$folder/${entry%%:*}") == "${entry##*:}" ]] || return 1
  done
}

fetch_cifar() {
  local label="$1" archive="$2" md5="$3" folder_name="$4"
  shift 4
  local folder="$dir/$folder_name" entry
  if [[ $force == 0 ]] && cifar_complete "$folder" "$@"; then
    echo "fetch_data: $folder: present (every data file has its expected size)"
    return 0
  fi
  mkdir -p "$dir"
  get "$archive" "$md5" "$dir" "https://www.cs.toronto.edu/~kriz/"
  echo "fetch_data: unpacking $archive"
  tar -xzf "$dir/$archive" -C "$dir" || die "$dir/$archive: could not be unpacked"
  for entry in "$@"; do
    [[ -f "$folder/${entry%%:*}" ]] || die "$dir/$archive did not unpack to $folder/${entry%%:*}"
    [[ $(file_size "$folder/${entry%%:*}") == "${entry##*:}" ]] ||
      die "$folder/${entry%%:*}: $(file_size "$folder/${entry%%:*}") bytes, expected ${entry##*:}"
  done
  ((keep_archives)) || rm -f "$dir/$archive"
  echo "fetch_data: $label ready in $folder"
}

fetch_cifar10() {
  # 10,000 records of 1 + 3072 bytes per file.
  fetch_cifar cifar10 cifar-10-binary.tar.gz c32a1d4ab5d03f1284b67883e8d87530 cifar-10-batches-bin \
    data_batch_1.bin:30730000 data_batch_2.bin:30730000 data_batch_3.bin:30730000 \
    data_batch_4.bin:30730000 data_batch_5.bin:30730000 test_batch.bin:30730000
}

fetch_cifar100() {
  # 50,000 and 10,000 records of 2 + 3072 bytes.
  fetch_cifar cifar100 cifar-100-binary.tar.gz 03b5dce01913d631647c71ecec9e9cb8 cifar-100-binary \
    train.bin:153700000 test.bin:30740000
}

# ---- main -----------------------------------------------------------------------------------------

mkdir -p "$dir" || die "cannot create $dir"
echo "fetch_data: into $dir (${sets[*]})"
for s in "${sets[@]}"; do
  case "$s" in
    mnist) fetch_mnist ;;
    fashion-mnist) fetch_fashion_mnist ;;
    cifar10) fetch_cifar10 ;;
    cifar100) fetch_cifar100 ;;
  esac
done
echo "fetch_data: done"
