"""What a run measured and what it would cost: metrics from call timestamps, the AWS cost model."""
