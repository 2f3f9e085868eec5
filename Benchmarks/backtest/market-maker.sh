# The backtest benchmark's converted file and market maker, sourced by run.sh, compare.sh,
# profile.sh and instructions.sh (ROWS and WORK set; MAX_POSITION and JOIN_TOUCH optional).
#
# The file merges the L2 and trades files with the trades first at equal timestamps: the order
# hftbacktest's converter is given them in (bench_hbt_mm.py), so both engines read one stream.
# The market maker joins the touch (`join-touch=1`: its bid at the best bid, its ask at the best
# ask, 10 lots a side, ±1,000 lots), as bench_hbt_mm.py's does. JOIN_TOUCH=0 quotes from the
# mid instead, as the benchmark did before 2026-12-05, evening (on a file with the L2 rows first,
# which this setting does not bring back), and as builds before `join-touch` only can.
EVENTS="$WORK/mm_${ROWS}.trades-first.v4.pgev"  # converted-file format version 4
MM=(--strategy market-maker --param half-spread=0 --param size=10 --param "max-position=${MAX_POSITION:-1000}"
    --param skew=0)
[ "${JOIN_TOUCH:-1}" = 0 ] || MM+=(--param join-touch=1)
