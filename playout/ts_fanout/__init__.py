"""The TS fan-out server: `/iptv/channel/<number>.ts` for every viewer of a machine, one reader per
channel (see `fanout`), one asyncio process, no thread per viewer. `python -m playout.ts_fanout`."""
