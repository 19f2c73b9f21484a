"""The byte layout of the wire (tick records, depth levels, signal records), as the
`alpha-panda-abi` crate (`abi/src/layout.rs`) and `wit/strategy.wit` define it.

Every integer is little-endian. A tick batch's `data` is `count` tick records of
`TICK_SIZE` bytes, then the batch's depth levels, `LEVEL_SIZE` bytes each. A signal
buffer is a sequence of `SIGNAL_SIZE`-byte records, each followed by its metadata.
"""

from __future__ import annotations

import struct

TICK_SIZE = 176
LEVEL_SIZE = 24
SIGNAL_SIZE = 48

# Presence bits of a tick record (the u32 at offset 0): bit set = field present.
BIT_SYMBOL = 1 << 0
BIT_VOLUME_TRADED = 1 << 1
BIT_LAST_TRADED_QUANTITY = 1 << 2
BIT_AVERAGE_TRADED_PRICE = 1 << 3
BIT_TOTAL_BUY_QUANTITY = 1 << 4
BIT_TOTAL_SELL_QUANTITY = 1 << 5
BIT_CHANGE = 1 << 6
BIT_OHLC = 1 << 7
BIT_OI = 1 << 8
BIT_OI_DAY_HIGH = 1 << 9
BIT_OI_DAY_LOW = 1 << 10
BIT_LAST_TRADE_TIME = 1 << 11
BIT_EXCHANGE_TIMESTAMP = 1 << 12
BIT_DEPTH = 1 << 13
BIT_MODE = 1 << 14
BIT_TRADABLE = 1 << 15
BITS_KNOWN = 0xFFFF

# Offsets in a tick record. A decimal's s64 mantissa is at its name, its u8 scale at NAME_SCALE.
OFF_PRESENCE = 0
OFF_INSTRUMENT_TOKEN = 4
OFF_TIMESTAMP_US = 8
OFF_LAST_PRICE = 16
OFF_AVERAGE_TRADED_PRICE = 24
OFF_CHANGE = 32
OFF_OPEN = 40
OFF_HIGH = 48
OFF_LOW = 56
OFF_CLOSE = 64
OFF_VOLUME_TRADED = 72
OFF_LAST_TRADED_QUANTITY = 80
OFF_TOTAL_BUY_QUANTITY = 88
OFF_TOTAL_SELL_QUANTITY = 96
OFF_OI = 104
OFF_OI_DAY_HIGH = 112
OFF_OI_DAY_LOW = 120
OFF_LAST_TRADE_TIME_US = 128
OFF_EXCHANGE_TIMESTAMP_US = 136
OFF_SYMBOL = 144
OFF_DEPTH_BUY_START = 148
OFF_DEPTH_BUY_LEN = 152
OFF_DEPTH_SELL_START = 156
OFF_DEPTH_SELL_LEN = 160
OFF_LAST_PRICE_SCALE = 164
OFF_AVERAGE_TRADED_PRICE_SCALE = 165
OFF_CHANGE_SCALE = 166
OFF_OPEN_SCALE = 167
OFF_HIGH_SCALE = 168
OFF_LOW_SCALE = 169
OFF_CLOSE_SCALE = 170
OFF_MODE = 171
OFF_TRADABLE = 172

# Offsets in a depth-level record.
LEVEL_OFF_PRICE = 0
LEVEL_OFF_QUANTITY = 8
LEVEL_OFF_ORDERS = 16
LEVEL_OFF_PRICE_SCALE = 20

# Mode byte values.
MODE_LTP = 0
MODE_QUOTE = 1
MODE_FULL = 2

# Offsets in a signal record.
SIG_OFF_TICK_INDEX = 0
SIG_OFF_INSTRUMENT_TOKEN = 4
SIG_OFF_QUANTITY = 8
SIG_OFF_PRICE = 16
SIG_OFF_CONFIDENCE = 24
SIG_OFF_META_PAIRS = 32
SIG_OFF_META_BYTES = 36
SIG_OFF_SIDE = 40
SIG_OFF_PRICE_KIND = 41
SIG_OFF_PRICE_SCALE = 42
SIG_OFF_HAS_CONFIDENCE = 43

SIDE_BUY = 0
SIDE_SELL = 1

PRICE_NONE = 0
PRICE_EXACT = 1
PRICE_APPROX = 2

# Integer ranges of the wire.
U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1
I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1

# Precompiled readers and writers.
U8 = struct.Struct("<B")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
I64 = struct.Struct("<q")
F64 = struct.Struct("<d")
# presence, instrument token, timestamp, last-price mantissa: the first 24 bytes.
TICK_HEAD = struct.Struct("<IIqq")
# Depth spans: buy start, buy len, sell start, sell len.
SPANS = struct.Struct("<IIII")
# A whole depth-level record: mantissa, quantity, orders, scale, 3 zero bytes.
LEVEL = struct.Struct("<qQIB3x")
# A whole signal record. The price field is packed as u64 bits (mantissa or f64 bits).
SIGNAL = struct.Struct("<IIQQdIIBBBB4x")

assert LEVEL.size == LEVEL_SIZE and SIGNAL.size == SIGNAL_SIZE
