"""Analysis of trained models: cutout experts, attention protocols, routing statistics, reports and plots."""
