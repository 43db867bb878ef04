"""Text messages and email (GOV.UK Notify): channels, their facts, and Notify's callbacks."""
