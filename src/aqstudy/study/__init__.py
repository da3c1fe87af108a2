"""One study run end to end, its MLflow tracking, and the process-wide helpers it needs."""
