"""Object storages as plug-ins found by name: where the dataset and Lithops' job files live."""
