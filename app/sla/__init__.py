"""SLA monitoring: objectives per tier, metrics ingestion, evaluation, alerts and service credits."""
