"""One accountant for parameters and MACs (see ``counter`` for the convention, ``rules`` for adding one)."""

from condnet.cost.counter import MacCount, count_macs, counting_macs, flop_counter_macs, measure_macs
from condnet.cost.ignored import IGNORED_OPS
from condnet.cost.params import count_params
from condnet.cost.per_sample import RoutedCost, sample_macs, summarize_macs
from condnet.cost.rules import MacRule, register_mac_rule, unregister_mac_rule
from condnet.cost.table import CostRow, cost_rows, cost_table, format_table

__all__ = ["IGNORED_OPS", "CostRow", "MacCount", "MacRule", "RoutedCost", "cost_rows", "cost_table",
           "count_macs", "count_params", "counting_macs", "flop_counter_macs", "format_table",
           "measure_macs", "register_mac_rule", "sample_macs", "summarize_macs", "unregister_mac_rule"]
