"""hardware_models package."""
