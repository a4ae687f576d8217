"""One accountant for parameters and MACs (see ``counter`` for the convention)."""

from condnet.cost.counter import MacCount, count_macs, counting_macs, flop_counter_macs, measure_macs
from condnet.cost.params import count_params
from condnet.cost.per_sample import RoutedCost, sample_macs, summarize_macs
from condnet.cost.table import CostRow, cost_table, format_table

__all__ = ["CostRow", "MacCount", "RoutedCost", "cost_table", "count_macs", "count_params", "counting_macs",
           "flop_counter_macs", "format_table", "measure_macs", "sample_macs", "summarize_macs"]
