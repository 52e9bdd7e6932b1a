"""Octanist lead fields: the stored/returned order, what create accepts, enums."""

from __future__ import annotations

CLICK_IDS = (
    "gclid ga4cid ga4sid fbc fbp msclkid ttclid twclid rdt_cid sccid li_fat_id "
    "dclid wbraid gbraid epik"
).split()
UTM = ("utm_source", "utm_medium", "utm_campaign")
CONSENT = ("ad_storage", "ad_user_data", "analytics_storage", "ad_personalization")
GOOGLE_ADS = (
    "googleAdsCampaignId googleAdsCampaignName googleAdsAdGroupId googleAdsAdGroupName "
    "googleAdsAdId"
).split()

LEAD_FIELDS = (
    ["id", "name", "email", "phone", "status", "value", "note", "custom", "lossReason"]
    + ["conversionName", "source", "website", "path", *CLICK_IDS, *UTM, *CONSENT, *GOOGLE_ADS]
    + ["labelId", "selectedConversionEventId", "createdAt", "updatedAt", "qualifiedAt"]
    + ["expiresAt"]
)
CREATE_TEXT = ("name", "email", "phone", "note", "website", "path", *CLICK_IDS, *UTM)
IDENTIFYING = ("name", "email", "phone", "custom")

STATUSES = ("open", "qualified", "won", "lost")
SETTABLE_STATUSES = ("qualified", "won", "lost")
SOURCES = ("inbound", "gtm", "api", "manual", "wordpress", "import")
CONSENT_WORDS = {"granted": True, "denied": False}
