#!/usr/bin/env bash
# make package-test: install the .deb into a temporary root (dpkg -x) and run the installed
# programs with the network unreachable. Fails on any error, and on any message of the
# window that is not in installer/harmless-messages.txt. docs/packaging.md describes it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' desktop_app/__init__.py)
deb=dist/satseg_${version}_amd64.deb
[ -f "$deb" ] || { echo "package-test: $deb missing (make package)"; exit 1; }

tmp=$(mktemp -d /tmp/satseg-package-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
step() { printf '\n== %s\n' "$*"; }
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }

step "install $deb into $root (dpkg -x)"
dpkg -x "$deb" "$root"
app=$root/opt/satseg/satseg-app
cli=$root/opt/satseg/satseg
for f in "$app" "$cli"; do [ -x "$f" ] || fail "$f is not installed"; done
[ "$(readlink "$root/usr/bin/satseg")" = /opt/satseg/satseg ] || fail "/usr/bin/satseg does not point to /opt/satseg/satseg"
grep -qx 'Exec=/opt/satseg/satseg-app' "$root/usr/share/applications/satseg.desktop" || fail "menu entry"
[ -s "$root/usr/share/icons/hicolor/256x256/apps/satseg.png" ] || fail "icon"
[ -s "$root/opt/satseg/LICENSES/components.json" ] || fail "LICENSES/components.json"
if find "$root/opt/satseg" \( -iname '*cuda*' -o -iname '*nvidia*' -o -iname '*triton*' -o -iname 'libcudnn*' \
        -o -iname 'libnccl*' -o -iname 'libcublas*' \) | grep -q .; then
    fail "CUDA/triton files in the bundle: $(find "$root/opt/satseg" -iname '*cuda*' -o -iname '*triton*' | head -3)"
fi

# No network: a network namespace with only a (down) loopback; else proxies to a closed port.
if unshare -n true 2>/dev/null; then
    offline=(unshare -n)
    echo "network: unreachable (unshare -n)"
else
    offline=(env http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9
             HTTPS_PROXY=http://127.0.0.1:9 no_proxy= NO_PROXY=)
    echo "network: unshare -n not permitted; proxies point at the closed port 127.0.0.1:9"
fi
# A fresh user: nothing read from or written to the real home, settings or caches.
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_DATA_HOME=$tmp/home/.local/share \
       XDG_CACHE_HOME=$tmp/home/.cache
mkdir -p "$HOME"
run() { "${offline[@]}" "$@"; }

step "satseg-app --smoke-test (offscreen, offline)"
log=$tmp/app.log
if ! QT_QPA_PLATFORM=offscreen run "$app" --smoke-test >"$log" 2>&1; then
    cat "$log"; fail "satseg-app --smoke-test exited with an error"
fi
cat "$log"
grep -q "smoke test passed" "$log" || fail "the smoke test did not report success"
grep -Ev '^(#|$)' installer/harmless-messages.txt | sed 's/.*/^(&)$/' > "$tmp/allow"
echo '^INFO [a-z_.]+: ' >> "$tmp/allow"   # the app's own log lines at level INFO (warnings are not allowed)
unexpected=$(grep -Evf "$tmp/allow" "$log" || true)
[ -z "$unexpected" ] || fail "unexpected messages from satseg-app:
$unexpected"

# Every CLI step: exit status 0 and nothing on stderr but the expected progress/warnings.
cli_step() {
    step "satseg $*"
    if ! run "$cli" "$@" >"$tmp/out" 2>"$tmp/err"; then
        cat "$tmp/out" "$tmp/err"; fail "satseg $* exited with an error"
    fi
    tail -n 15 "$tmp/out"
    if grep -Eiq 'traceback|error' "$tmp/err"; then cat "$tmp/err"; fail "satseg $* reported an error"; fi
}
cli_step --version
cli_step --help
# 256 px: one SAM window of 256 px below (the tiny model upsamples it to 1024 px: ~30 s on CPU)
cli_step demo-scene "$tmp/demo" --size 256
cli_step info "$tmp/demo/scene.tif"
cli_step classify "$tmp/demo/scene.tif" "$tmp/demo/samples.geojson" --out "$tmp/classes.tif"
cli_step accuracy "$tmp/classes.tif" "$tmp/demo/truth.tif"
cli_step export "$tmp/classes.tif" --vector "$tmp/classes.geojson" --kml "$tmp/classes.kml" --report "$tmp/areas.csv"
for f in classes.tif classes.geojson classes.kml areas.csv; do [ -s "$tmp/$f" ] || fail "$f not written"; done

# SAM-2 refinement with random weights (the real tiny architecture from the bundled configs) on
# one small window: torch, sam2 and its configs are inside, and no torchvision is needed.
cli_step sam refine --random-init "$tmp/demo/scene.tif" "$tmp/classes.tif" --window 256 --out "$tmp/refined.tif"
[ -s "$tmp/refined.tif" ] || fail "refined.tif not written"
grep -q "1 window" "$tmp/out" || fail "expected one SAM window"

# Built with SAM2_CHECKPOINT: the bundled model is listed and refines without an import.
if [ -d "$root/opt/satseg/sam-models" ]; then
    cli_step sam list
    cli_step sam refine "$tmp/demo/scene.tif" "$tmp/classes.tif" --window 256 --out "$tmp/refined-model.tif"
    grep -q "RANDOM-INIT" "$tmp/out" && fail "the bundled model was not used"
fi

step "package-test passed"
