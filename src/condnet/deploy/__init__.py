"""Deployment: export (ONNX through torch.onnx's dynamo exporter, torch.export's pt2) with the metadata a
deployer needs, verification of every export against PyTorch, and latency benchmarks side by side."""
