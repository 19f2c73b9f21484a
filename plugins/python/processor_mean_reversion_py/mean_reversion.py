"""
Mean reversion processor, written for the original strategy runner's processor
interface: z-score of the price against the mean of the history window (sample
standard deviation, the `statistics` module), confirmed by a simple-average RSI.
Runs as an alpha-panda plugin unchanged.

BUY when the price is more than `entry_z` deviations below the mean and the RSI is
under `rsi_oversold`; SELL in the mirror case. Confidence in 0..1.
"""

import statistics
from decimal import Decimal
from typing import Any, Dict, List, Optional

from core.logging import get_trading_logger_safe
from core.schemas.events import MarketTick as MarketData
from strategies.core.protocols import SignalResult, StrategyProcessor

logger = get_trading_logger_safe(__name__)


class ZScoreReversionProcessor:
    def __init__(self, lookback_periods: int = 20, rsi_period: int = 14, entry_z: float = 2.0,
                 rsi_oversold: float = 30.0, rsi_overbought: float = 70.0, position_size: int = 50,
                 instruments: Optional[List[int]] = None):
        self.lookback_periods = lookback_periods
        self.rsi_period = rsi_period
        self.entry_z = entry_z
        self.rsi_oversold = rsi_oversold
        self.rsi_overbought = rsi_overbought
        self.position_size = position_size
        self.instruments = set(instruments) if instruments else None

    def _rsi(self, prices: List[float]) -> Optional[float]:
        changes = [b - a for a, b in zip(prices, prices[1:])][-self.rsi_period:]
        if len(changes) < self.rsi_period:
            return None
        gain = sum(max(c, 0.0) for c in changes) / self.rsi_period
        loss = sum(max(-c, 0.0) for c in changes) / self.rsi_period
        if loss == 0:
            return 100.0
        return 100.0 - 100.0 / (1.0 + gain / loss)

    def process_tick(self, tick: MarketData, history: List[MarketData]) -> Optional[SignalResult]:
        if len(history) < self.get_required_history_length():
            return None
        prices = [float(h.last_price) for h in history]
        window = prices[-self.lookback_periods:]
        try:
            mean = statistics.mean(window)
            sd = statistics.stdev(window)
        except statistics.StatisticsError:
            return None
        if sd == 0:
            return None
        current = prices[-1]
        z = (current - mean) / sd
        rsi = self._rsi(prices)
        if rsi is None:
            return None
        if z < -self.entry_z and rsi < self.rsi_oversold:
            signal_type = "BUY"
        elif z > self.entry_z and rsi > self.rsi_overbought:
            signal_type = "SELL"
        else:
            return None
        confidence = min(1.0, (abs(z) - self.entry_z) / 2.0 + 0.5)
        logger.info("reversion_signal", instrument=tick.instrument_token, side=signal_type, z=round(z, 3))
        return SignalResult(
            signal_type=signal_type,
            confidence=confidence,
            quantity=self.position_size,
            price=tick.last_price,
            reasoning=f"z={z:.2f}, rsi={rsi:.1f}",
            metadata={"z": f"{z:.4f}", "rsi": f"{rsi:.2f}", "mean": f"{mean:.4f}"},
        )

    def get_required_history_length(self) -> int:
        return max(self.lookback_periods, self.rsi_period + 1)

    def supports_instrument(self, token: int) -> bool:
        return self.instruments is None or token in self.instruments

    def get_strategy_name(self) -> str:
        return "zscore_reversion"


def create_mean_reversion_processor(config: Dict[str, Any]) -> StrategyProcessor:
    only = config.get("only_instrument")
    return ZScoreReversionProcessor(
        lookback_periods=int(config.get("lookback_periods", 20)),
        rsi_period=int(config.get("rsi_period", 14)),
        entry_z=float(config.get("entry_z", 2.0)),
        rsi_oversold=float(config.get("rsi_oversold", 30)),
        rsi_overbought=float(config.get("rsi_overbought", 70)),
        position_size=int(config.get("position_size", 50)),
        instruments=[int(only)] if only is not None else None,
    )
