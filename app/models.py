"""Import every model so `Base.metadata` is complete (Alembic, tests, create_all)."""
from app.accounts.models import Organization, User, UserSession  # noqa: F401
from app.audit.models import AuditEvent  # noqa: F401
from app.rental.models import Instance, Plan, Subscription  # noqa: F401
from app.security.models import ApiKey, GeoRule, IpAllowlistEntry, RecoveryCode, TotpCredential  # noqa: F401
from app.webhooks.models import DeliveryAttempt, WebhookEndpoint, WebhookEvent, WebhookMessage, WebhookReplay  # noqa: F401
from app.payments.models import (Dispute, DisputeEvidenceFile, FeeOverride, FeeTier, IdempotencyRecord, Payment,  # noqa: F401
                                 Refund, StripeCustomer, StripeEvent)
