#!/bin/sh
# Install into a staging directory, build a program outside the tree
# with pkg-config against it (shared and static), run it, check that the
# shared library exports only pal_ symbols, then uninstall and check
# that nothing is left behind.
set -eu

top=$(pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
prefix=/opt/libpal-test

make -s install DESTDIR="$stage" PREFIX="$prefix" >/dev/null

mkdir "$stage/app"
cat > "$stage/app/app.c" <<'PROG'
#include <stdio.h>
#include <pal/pal.h>

int main(void)
{
    /* One VIC^2 step on a 4-item label graph. */
    const int32_t y[4] = {0, 0, 1, 1};
    double z[8] = {1, 0, 0.9, 0.1, 0, 1, 0.2, 0.8}, dz[8], loss;
    pal_ctx_t *ctx;
    pal_graph_t *g;

    if (pal_version_number() != PAL_VERSION_NUMBER)
        return 1;
    if (pal_ctx_create(&ctx, NULL) || pal_graph_create(&g, 4, NULL) ||
        pal_graph_add_labels(g, 1.0, y) ||
        pal_grad_vic2(ctx, g, PAL_F64, 4, 2, z, 2, NULL, &loss, dz, 2))
        return 2;
    printf("libpal %s: loss %.6f\n", pal_version_string(), loss);
    pal_graph_destroy(g);
    pal_ctx_destroy(ctx);
    return loss > 0.0 ? 0 : 3;
}
PROG

export PKG_CONFIG_PATH="$stage$prefix/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$stage"
cflags=$(pkg-config --cflags pal)
libs=$(pkg-config --libs pal)
static_libs=$(pkg-config --static --libs pal)
cd "$stage/app"
cc -std=c11 -Wall -Werror $cflags app.c -o app_shared $libs \
    -Wl,-rpath,"$stage$prefix/lib"
./app_shared
cc -std=c11 -Wall -Werror $cflags app.c -o app_static \
    "$stage$prefix/lib/libpal.a" $(echo "$static_libs" | sed 's/-lpal//')
./app_static
cd "$top"

# Only pal_ symbols leave the shared library.
others=$(nm -D --defined-only "$stage$prefix/lib/libpal.so" |
    awk '{print $3}' | grep -v '^pal_' |
    grep -vE '^(_init|_fini|_edata|_end|__bss_start)$' || true)
if [ -n "$others" ]; then
    echo "install test: unexpected exported symbols: $others" >&2
    exit 1
fi
soname=$(objdump -p "$stage$prefix/lib/libpal.so" | awk '/SONAME/ {print $2}')
[ "$soname" = "libpal.so.0" ] || {
    echo "install test: soname is '$soname'" >&2
    exit 1
}

# Installing again under another prefix writes a pal.pc naming it.
make -s install DESTDIR="$stage" PREFIX=/opt/libpal-other >/dev/null
grep -q '^prefix=/opt/libpal-other$' \
    "$stage/opt/libpal-other/lib/pkgconfig/pal.pc" || {
    echo "install test: pal.pc does not follow PREFIX" >&2
    exit 1
}
make -s uninstall DESTDIR="$stage" PREFIX=/opt/libpal-other >/dev/null

make -s uninstall DESTDIR="$stage" PREFIX="$prefix" >/dev/null
left=$(find "$stage$prefix" "$stage/opt/libpal-other" -type f -o -type l)
if [ -n "$left" ]; then
    echo "install test: uninstall left: $left" >&2
    exit 1
fi
echo "install test: DESTDIR install, pkg-config build (shared and static), uninstall: ok"
