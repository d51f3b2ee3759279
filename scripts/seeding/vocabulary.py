"""The constant tables the rows are drawn from: how much of what, countries and prices, AI providers,
events and user agents, moderation categories and actions, authorities, names and prompt words.

Changing any value here changes the generated data (the seed is deterministic, not stable across edits).
"""

import numpy as np

# -- how much of what, per user and per row -----------------------------------------------

MEANS = {"generations": 10.0, "uploads": 2.0, "sessions": 5.0, "usage_events": 20.0, "moderation_events": 0.6,
         "payments": 1.0}
DELETED_USER_SHARE = 0.08
DELETED_ROW_SHARE = 0.05
FAILED_SHARE = 0.03
CRITICAL_SHARE = 0.05
WITH_GENERATION_SHARE = 1 / 3
CANARY_SHARE = 0.01
DISCLOSURE_SHARE = 0.003

# -- countries, prices, payments ---------------------------------------------------------

COUNTRIES = np.array(["RU", "DE", "FR", "US", "GB", "NL", "KZ", "ES", "IT", "PL"], dtype=object)
COUNTRY_P = (0.32, 0.12, 0.08, 0.14, 0.08, 0.05, 0.06, 0.05, 0.05, 0.05)
CURRENCY = np.array(["RUB", "EUR", "EUR", "USD", "GBP", "EUR", "KZT", "EUR", "EUR", "PLN"], dtype=object)
PRICE_MINOR = np.array([49_000, 990, 990, 999, 899, 990, 249_000, 990, 990, 3_999], dtype=np.int64)
PLAN_MULTIPLIER = np.array([1, 3, 10], dtype=np.int64)
PLAN_P = (0.65, 0.27, 0.08)
# Payment periods of include/policy/retention.yaml that end inside the 8-year window (DE, FR
# and the default are 10 years: nothing of theirs is due yet).
PAYMENT_YEARS = {"RU": 5, "KZ": 5, "GB": 6, "NL": 7, "US": 7}

# -- generations, usage and sessions -----------------------------------------------------

IMAGE_PROVIDERS = np.array(["openai", "stability_ai", "google_vertex"], dtype=object)
IMAGE_PROVIDER_P = (0.5, 0.3, 0.2)
VIDEO_PROVIDERS = np.array(["runway", "kling_ai", "google_vertex"], dtype=object)
VIDEO_PROVIDER_P = (0.45, 0.35, 0.2)
VIDEO_SHARE = 0.2

EVENT_TYPES = np.array(["login", "generate_image", "generate_video", "upload", "view_gallery", "download", "share",
                        "settings_change", "subscribe"], dtype=object)
EVENT_TYPE_P = (0.25, 0.25, 0.08, 0.07, 0.15, 0.08, 0.06, 0.04, 0.02)
USER_AGENTS = np.array([
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) YaBrowser/24.4 Safari/537.36",
    "Clipia/3.2.1 (iOS 17.4; iPhone15,2)",
    "Clipia/3.2.0 (Android 14; SM-S918B)",
], dtype=object)

# -- moderation and disclosures ----------------------------------------------------------

STANDARD_CATEGORIES = np.array(["nsfw", "violence", "hate", "self_harm", "spam", "copyright"], dtype=object)
STANDARD_CATEGORY_P = (0.35, 0.15, 0.12, 0.05, 0.2, 0.13)
CRITICAL_CATEGORIES = np.array(["csam_suspected", "violence", "self_harm", "hate"], dtype=object)
CRITICAL_CATEGORY_P = (0.3, 0.3, 0.2, 0.2)
# (references a generation, critical) -> actions and their weights
ACTIONS = {
    (True, False): (("warning", "content_deleted", "account_suspended"), (0.45, 0.5, 0.05)),
    (True, True): (("content_deleted", "account_suspended"), (0.6, 0.4)),
    (False, False): (("prompt_blocked", "warning", "account_suspended"), (0.65, 0.3, 0.05)),
    (False, True): (("prompt_blocked", "account_suspended"), (0.5, 0.5)),
}

AUTHORITIES = {
    "RU": ("Roskomnadzor", "Investigative Committee of Russia", "Ministry of Internal Affairs of Russia"),
    "DE": ("Police of Berlin", "Bundeskriminalamt"),
    "FR": ("Police nationale, Paris", "Parquet de Paris"),
    "NL": ("Politie Amsterdam",),
    "GB": ("Metropolitan Police Service",),
    "US": ("Federal Bureau of Investigation",),
    "KZ": ("Prosecutor General's Office of Kazakhstan",),
}
LEGAL_BASIS = {"RU": "152-FZ art. 6(1)(3)", "DE": "GDPR art. 6(1)(c)", "FR": "GDPR art. 6(1)(c)",
               "NL": "GDPR art. 6(1)(c)", "GB": "UK GDPR art. 6(1)(c)", "US": "GDPR art. 49(1)(e)",
               "KZ": "GDPR art. 49(1)(e)"}

# -- names and prompt words ---------------------------------------------------------------

FIRST_NAMES = ("Anna", "Ivan", "Maria", "Dmitry", "Olga", "Lukas", "Sophie", "Jonas", "Emma", "Louis", "Chloe",
               "James", "Olivia", "Noah", "Amelia", "Daan", "Sanne", "Aigerim", "Nursultan", "Lucia", "Marco",
               "Zofia", "Jakub", "Elena", "Pablo", "Giulia", "Sergei", "Yulia", "Mia", "Leo")
LAST_INITIALS = "ABCDEFGHIKLMNOPRSTVZ"

# Prompts of ordinary users: "{subject} {scene}, {style}[, {extra}]".
SUBJECTS = (
    "a red fox", "an astronaut cat", "a lighthouse", "a vintage car", "a baby dragon", "a samurai", "a cozy cabin",
    "a robot barista", "a koi pond", "a snowy owl", "a cyberpunk street", "a mountain lake", "a sunflower field",
    "a steampunk airship", "a girl with a red umbrella", "an old fisherman", "a medieval castle", "a tiny house",
    "a jellyfish", "a wolf pack", "a bowl of ramen", "a floating island", "a city skyline", "a tea house",
    "a knight in silver armor", "a corgi wearing sunglasses", "a greenhouse", "a desert caravan", "a neon arcade",
    "a viking ship", "a hot air balloon", "a library with endless shelves", "a mermaid", "a treehouse village",
    "a panda eating bamboo", "a retro diner", "a waterfall", "a cathedral interior", "a fantasy marketplace",
    "a polar bear", "a vintage typewriter", "a futuristic train", "a sleeping kitten", "a lavender farm",
    "a portrait of an elderly woman", "a bonsai tree", "a pirate ship", "a snow leopard", "a bustling night market",
    "a forest spirit",
)
SCENES = (
    "at sunset", "in the rain", "under the northern lights", "on a foggy morning", "in a neon-lit alley",
    "floating in space", "in a misty forest", "at golden hour", "during a thunderstorm", "in deep winter",
    "on an alien planet", "at the bottom of the ocean", "in a field of wildflowers", "on a rooftop at night",
    "in an abandoned subway", "among cherry blossoms", "in a sandstorm", "by candlelight", "in autumn leaves",
    "above the clouds", "on a rainy Tokyo street", "in a snow globe", "at dawn", "in a crystal cave",
    "in a busy harbor", "on a quiet beach", "in a bamboo forest", "under a full moon", "in a cluttered workshop",
    "on the edge of a cliff",
)
STYLES = (
    "watercolor", "oil painting", "anime style", "pixel art", "isometric 3d render", "cinematic photo",
    "charcoal sketch", "low poly", "ukiyo-e print", "vaporwave", "art nouveau poster", "35mm film photo",
    "claymation", "studio photography", "digital painting", "pencil drawing", "stained glass", "comic book style",
    "impressionist painting", "hyperrealistic", "children's book illustration", "gothic", "synthwave",
    "minimalist vector art", "baroque painting", "polaroid photo", "concept art", "papercraft", "tilt-shift photo",
    "matte painting",
)
EXTRAS = (
    "", "4k", "8k, highly detailed", "soft lighting", "dramatic lighting", "trending on artstation", "bokeh",
    "wide angle", "volumetric light", "pastel colors", "golden hour", "high contrast", "muted colors",
    "ultra detailed, sharp focus", "symmetrical composition", "shallow depth of field", "vivid colors",
    "slow motion", "drone shot", "looping animation",
)
# Canary prompts (their raw text is known to the data-quality checks): another template, so
# they never coincide with an ordinary prompt. "a {medium} {animal} {place}, {finish}".
CANARY_MEDIA = ("watercolor", "gouache", "linocut", "pastel", "ink wash", "stained glass", "papercut", "embroidered",
                "mosaic", "charcoal", "origami", "woodcut", "oil pastel", "ceramic", "neon sign", "felt")
CANARY_ANIMALS = ("fox", "hare", "heron", "lynx", "otter", "badger", "owl", "stag", "hedgehog", "raven", "seal",
                  "marten", "crane", "bison", "beaver", "moth", "whale", "tortoise", "ibex", "wren")
CANARY_PLACES = ("in a misty forest", "on a frozen lake", "in a moonlit meadow", "under falling snow",
                 "beside a quiet river", "in an old library", "on a windy hill", "among red poppies",
                 "in a glass greenhouse", "at a night market", "under a paper lantern", "in a rainy courtyard")
CANARY_FINISHES = ("4k", "8k", "soft light", "muted palette", "film grain", "wide shot",
                   "highly detailed, dramatic rim lighting, muted earthy palette",
                   "cinematic composition, volumetric fog, ultra detailed textures",
                   "storybook illustration, warm evening light, gentle film grain")
