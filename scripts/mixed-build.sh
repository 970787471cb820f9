# Sourced by the mixed-release scripts: `build <commit> <dir> [patch]` writes the commit's tree
# from git into <dir>, links this tree's node_modules (its own @provsync packages are its
# packages/*), and builds it with tsc -b. Needs $root (this checkout) and $node22.
# build <commit> <dir> [patch]: the commit's tree from git, this tree's node_modules, tsc -b.
build() {
  mkdir -p "$2/node_modules/@provsync"
  git -C "$root" archive "$1" | tar -x -C "$2"
  if [ -n "${3:-}" ]; then (cd "$2" && git apply "$3"); fi
  for entry in "$root"/node_modules/* "$root"/node_modules/.bin; do
    [ "$(basename "$entry")" = "@provsync" ] || ln -s "$entry" "$2/node_modules/$(basename "$entry")"
  done
  for pkg in "$2"/packages/*; do ln -s "../../packages/$(basename "$pkg")" "$2/node_modules/@provsync/"; done
  (cd "$2" && "$node22" node_modules/typescript/bin/tsc -b)
}

