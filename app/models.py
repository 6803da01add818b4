"""Import every model so `Base.metadata` is complete (Alembic, tests, create_all)."""
from app.accounts.models import Organization, User, UserSession  # noqa: F401
from app.audit.models import AuditEvent  # noqa: F401
from app.rental.models import Instance  # noqa: F401
from app.billing.models import (BillingProfile, Invoice, InvoiceItem, InvoiceLine, InvoiceSequence, Plan,  # noqa: F401
                                PlanChange, Subscription, UsageAlert, UsageRecord, UsageTotal)
from app.currency.models import ExchangeRate  # noqa: F401
from app.tax.models import TaxExemption, TaxRate  # noqa: F401
from app.security.models import ApiKey, GeoRule, IpAllowlistEntry, RecoveryCode, TotpCredential  # noqa: F401
from app.webhooks.models import DeliveryAttempt, WebhookEndpoint, WebhookEvent, WebhookMessage, WebhookReplay  # noqa: F401
from app.payments.models import (Dispute, DisputeEvidenceFile, FeeOverride, FeeTier, IdempotencyRecord, Payment,  # noqa: F401
                                 Refund, StripeCustomer, StripeEvent)
from app.sla.models import (InstanceHour, SlaAlert, SlaCreditStep, SlaDefinition, SlaMinute,  # noqa: F401
                            SlaMonthlyReport, SlaSample)
from app.advice.models import Recommendation  # noqa: F401
