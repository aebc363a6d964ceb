#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, with AddressSanitizer) of what a dropped EHF file
# reaches before the database: libxml2 and the UBL reader, the EN 16931 checks, the posting
# rules and notes (Fuzz/EHFFuzzer.swift). Not part of the test suite: a run is open-ended.
#
#   scripts/fuzz.sh [SECONDS]    (default 600)
#
# Seeds are the test fixtures and, when it is there, ../shared/corpus/ehf. What the fuzzer
# learns is kept in .build-fuzz/corpus for the next run; an input that crashes, leaks, or
# takes longer than FUZZ_TIMEOUT seconds (default 5) is written to .build-fuzz/ as
# crash-*, leak-* or timeout-*, and the script exits non-zero. Replay one with
#   .build-fuzz/fuzz-ehf .build-fuzz/crash-…
# The modules are compiled here with swiftc directly: libFuzzer brings its own `main`, and
# the sanitizer flags must not reach the package's own build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
scripts/install-deps.sh
out=.build-fuzz
mkdir -p "$out/corpus" "$out/seeds"
flags=(-swift-version 6 -enable-upcoming-feature ExistentialAny -enable-upcoming-feature InternalImportsByDefault
  -parse-as-library -O -g -sanitize=fuzzer,address)
xml=(-I Sources/CLibXML2 -Xcc "-I$(pkg-config --variable=includedir libxml-2.0)/libxml2")
echo "fuzz.sh: building the fuzz target" >&2
swiftc "${flags[@]}" -emit-library -static -emit-module -module-name LedgerCore \
  -emit-module-path "$out/LedgerCore.swiftmodule" Sources/LedgerCore/*.swift -o "$out/libLedgerCore.a"
swiftc "${flags[@]}" -emit-library -static -emit-module -module-name Formats -I "$out" "${xml[@]}" \
  -emit-module-path "$out/Formats.swiftmodule" Sources/Formats/*.swift -o "$out/libFormats.a"
# The linker warns that it cannot export the sanitizer's local symbols; that is harmless.
swiftc "${flags[@]}" -I "$out" "${xml[@]}" Fuzz/EHFFuzzer.swift -L "$out" -lFormats -lLedgerCore -lxml2 \
  -o "$out/fuzz-ehf" 2> >(grep -v "Cannot export local symbol" >&2)

find Tests/FormatsTests/Fixtures/ehf ../shared/corpus/ehf -name '*.xml' -exec cp -t "$out/seeds" {} + 2>/dev/null || true
# The element names of the seeds, whole, so that mutations make and break real UBL.
grep -ohE '</?c[ab]c:[A-Za-z]+' "$out"/seeds/*.xml | sort -u | sed 's/.*/"&"/' >"$out/ehf.dict"

echo "fuzz.sh: fuzzing for $seconds s ($(ls "$out/seeds" | wc -l) seeds, $(ls "$out/corpus" | wc -l) inputs kept from earlier runs)" >&2
"$out/fuzz-ehf" -dict="$out/ehf.dict" -max_len=65536 -timeout="${FUZZ_TIMEOUT:-5}" -rss_limit_mb=2048 \
  -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" "$out/seeds"
