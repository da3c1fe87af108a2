"""Many runs: plans and budgets, the Optuna frontier, config fingerprints for resume."""
