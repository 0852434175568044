# shellcheck shell=bash
# Helpers shared by the image recipes (tools/build-images, tools/build-node-image,
# tools/kind-docker-wrapper/privileged-mode). Images are made without a registry: a directory
# becomes an image with `docker import`, as nothing can be pulled on an air-gapped machine.
IRSA_LAB_CACHE="${IRSA_LAB_CACHE:-$HOME/.cache/irsa-lab}"
images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# import_dir DIR NAME:TAG [--change INSTRUCTION]...: the directory's contents as an image.
import_dir() {
  local dir="$1" ref="$2"; shift 2
  local changes=()
  while [ $# -gt 0 ]; do changes+=(--change "$2"); shift 2; done
  tar --numeric-owner -C "$dir" -c . | docker import "${changes[@]}" - "$ref" >/dev/null
}

# copy_elf ROOT BINARY DEST [NAME]: BINARY (a path inside ROOT, "/" for the host) copied into
# DEST with the shared libraries it loads (read with ldd inside ROOT), so a dynamically linked
# program runs in an otherwise empty image.
copy_elf() {
  local root="$1" bin="$2" dest="$3" name="${4:-$2}"
  mkdir -p "$dest$(dirname "$name")"
  cp -L "$root$bin" "$dest$name"
  local lib
  while read -r lib; do
    [ -n "$lib" ] || continue
    mkdir -p "$dest$(dirname "$lib")"
    [ -e "$dest$lib" ] || cp -L "$root$lib" "$dest$lib"
  done < <(ldd_in "$root" "$bin")
}

# The absolute library paths a program loads (the loader included); none for a static one.
ldd_in() {
  local root="$1" bin="$2" out
  if [ "$root" = / ]; then out="$(ldd "$bin" 2>&1 || true)"; else out="$(chroot "$root" ldd "$bin" 2>&1 || true)"; fi
  printf '%s\n' "$out" | sed -n 's/.*=> \(\/[^ ]*\) (.*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'
}

# build_pause: the static pause binary (tools/images/pause.c), cached.
pause_binary() {
  local out="$IRSA_LAB_CACHE/pause/pause"
  if [ ! -x "$out" ] || [ "$images_dir/pause.c" -nt "$out" ]; then
    command -v gcc >/dev/null || { echo "gcc is needed to build the local pause image (apt-get install gcc libc6-dev)" >&2; return 2; }
    mkdir -p "$(dirname "$out")"
    gcc -static -Os -s -o "$out.tmp" "$images_dir/pause.c" && mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# ensure_pause_image NAME:TAG: a one-file image running /pause.
ensure_pause_image() {
  local ref="$1" bin dir
  image_exists "$ref" && return 0
  bin="$(pause_binary)" || return
  dir="$(mktemp -d)"
  cp "$bin" "$dir/pause"
  import_dir "$dir" "$ref" --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535'
  rm -rf "$dir"
}
