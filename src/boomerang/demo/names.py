"""Word lists and text templates for the demo company (names, titles, subjects, notes)."""

from __future__ import annotations

# fmt: off

COMPANY_PREFIXES = (
    "Acme", "Apex", "Arbor", "Argent", "Aster", "Atlas", "Aurora", "Azure", "Beacon", "Birch",
    "Blue", "Bold", "Bright", "Brook", "Cascade", "Cedar", "Cinder", "Citadel", "Clear", "Cobalt",
    "Copper", "Coral", "Crest", "Crimson", "Crystal", "Delta", "Drift", "Eagle", "Echo", "Ember",
    "Emerald", "Evergreen", "Falcon", "Fern", "Firefly", "Flint", "Fox", "Frontier", "Garnet",
    "Glacier", "Gold", "Granite", "Green", "Grey", "Harbor", "Hazel", "Helix", "Highland",
    "Horizon", "Indigo", "Iron", "Ivory", "Jade", "Juniper", "Keystone", "Lake", "Lantern",
    "Laurel", "Lime", "Lumen", "Lunar", "Maple", "Marble", "Meadow", "Meridian", "Mesa", "Mint",
    "Monarch", "Moss", "Navy", "Nimbus", "North", "Nova", "Oak", "Ocean", "Onyx", "Opal", "Orbit",
    "Orchid", "Pacific", "Peak", "Pearl", "Pine", "Pioneer", "Pixel", "Polar", "Prairie", "Prism",
    "Pulse", "Quantum", "Quartz", "Radiant", "Raven", "Red", "Ridge", "River", "Rock", "Ruby",
    "Sage", "Sapphire", "Scarlet", "Sequoia", "Shadow", "Sierra", "Silver", "Sky", "Slate",
    "Solar", "South", "Spark", "Spruce", "Star", "Steel", "Stone", "Storm", "Summit", "Sun",
    "Swift", "Terra", "Thunder", "Tidal", "Timber", "Titan", "True", "Twin", "Valley", "Vector",
    "Velvet", "Vertex", "Violet", "Vista", "West", "Willow", "Wind", "Wolf", "Zenith", "Zephyr",
)

COMPANY_CORES = (
    "Anchor", "Arc", "Axis", "Bay", "Beam", "Bell", "Bird", "Bloom", "Bolt", "Bridge", "Brook",
    "Cast", "Chain", "Circle", "Cloud", "Coast", "Code", "Core", "Craft", "Creek", "Cross",
    "Current", "Dale", "Dawn", "Dock", "Dot", "Edge", "Field", "Flow", "Fold", "Force", "Ford",
    "Forge", "Frame", "Gate", "Gear", "Glen", "Grid", "Grove", "Hall", "Haven", "Hill", "Hive",
    "Hub", "Key", "Kite", "Lab", "Land", "Lane", "Leaf", "Light", "Line", "Link", "Loop", "Mark",
    "Mill", "Mind", "Mint", "Moor", "Nest", "Net", "Node", "Park", "Path", "Peak", "Pier",
    "Pine", "Plane", "Point", "Pond", "Port", "Post", "Quest", "Rail", "Ray", "Reach", "Reef",
    "Ridge", "Ring", "Rise", "Road", "Root", "Sail", "Scale", "Scope", "Sense", "Shore", "Sight",
    "Signal", "Snap", "Source", "Span", "Sphere", "Spring", "Square", "Stack", "Stream",
    "Street", "Stride", "Tide", "Tower", "Track", "Trail", "Tree", "Vale", "Vault", "View",
    "Wave", "Way", "Well", "Wing", "Wire", "Wood", "Works", "Yard",
)

# (suffix, industry or "" for any); the industry makes names and industries agree.
COMPANY_SUFFIXES = (
    ("Systems", ""), ("Labs", "Software"), ("Analytics", "Software"), ("Logistics", "Logistics"),
    ("Health", "Healthcare"), ("Financial", "Financial Services"),
    ("Capital", "Financial Services"), ("Media", "Media & Entertainment"),
    ("Studios", "Media & Entertainment"), ("Foods", "Food & Beverage"), ("Energy", "Energy"),
    ("Bio", "Life Sciences"), ("Therapeutics", "Life Sciences"), ("Learning", "Education"),
    ("Retail", "Retail"), ("Motors", "Automotive"), ("Security", "Software"),
    ("Networks", "Telecommunications"), ("Telecom", "Telecommunications"),
    ("Software", "Software"), ("Technologies", ""), ("Solutions", ""), ("Group", ""),
    ("Partners", "Professional Services"), ("Consulting", "Professional Services"),
    ("Manufacturing", "Manufacturing"), ("Industries", "Manufacturing"),
    ("Insurance", "Insurance"), ("Realty", "Real Estate"), ("Travel", "Travel & Hospitality"),
    ("Hotels", "Travel & Hospitality"), ("Robotics", "Manufacturing"), ("Cloud", "Software"),
)

INDUSTRIES = (
    "Software", "Financial Services", "Healthcare", "Retail", "Manufacturing", "Logistics",
    "Media & Entertainment", "Education", "Professional Services", "Telecommunications",
    "Energy", "Life Sciences", "Insurance", "Real Estate", "Travel & Hospitality",
    "Food & Beverage", "Automotive",
)

REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_WEIGHTS = (0.50, 0.30, 0.13, 0.07)
# UTC offsets (hours) of the places customers work in, per region.
REGION_TZ_OFFSETS = (
    (-8.0, -7.0, -6.0, -5.0, -5.0, -5.0),
    (0.0, 1.0, 1.0, 1.0, 2.0),
    (5.5, 8.0, 9.0, 10.0),
    (-3.0, -5.0, -6.0),
)
# Top-level domains per region (weights follow).
REGION_TLDS = (
    ((".com", 0.85), (".io", 0.10), (".ca", 0.05)),
    ((".com", 0.35), (".io", 0.10), (".co.uk", 0.20), (".de", 0.15), (".fr", 0.10), (".eu", 0.05),
     (".nl", 0.05)),
    ((".com", 0.45), (".io", 0.10), (".com.au", 0.20), (".sg", 0.10), (".jp", 0.15)),
    ((".com", 0.50), (".com.br", 0.30), (".mx", 0.20)),
)
LEGAL_FORMS = {".de": " GmbH", ".co.uk": " Ltd", ".fr": " SAS", ".com.au": " Pty Ltd",
               ".com.br": " Ltda", ".com": " Inc."}
SUBSIDIARY_NAMES = (
    ("Canada", "US West", "US East", "Federal"),
    ("UK", "Deutschland", "France", "Nordics", "Benelux", "Iberia", "Italia"),
    ("Japan", "Australia", "Singapore", "India", "Korea"),
    ("Brasil", "Mexico", "Chile", "Colombia"),
)
DATA_CENTERS = ("us-east-1", "eu-central-1", "ap-southeast-2", "us-east-1")

FIRST_NAMES = (
    "Aaliyah", "Aaron", "Abigail", "Adam", "Adrian", "Aisha", "Akira", "Alejandro", "Alex",
    "Alexandra", "Alice", "Alicia", "Amara", "Amelia", "Amir", "Ana", "Andre", "Andrea",
    "Andrew", "Angela", "Anika", "Anna", "Anthony", "Aria", "Arjun", "Ava", "Ben", "Benjamin",
    "Bianca", "Blake", "Brandon", "Brian", "Bruno", "Caleb", "Camila", "Carlos", "Carmen",
    "Caroline", "Chen", "Chloe", "Chris", "Christina", "Claire", "Daniel", "Daniela", "David",
    "Deepak", "Diana", "Diego", "Dmitri", "Elena", "Eli", "Elif", "Elijah", "Elizabeth", "Ella",
    "Emily", "Emma", "Eric", "Ethan", "Eva", "Fatima", "Felipe", "Fiona", "Gabriel", "Grace",
    "Hana", "Hannah", "Harper", "Hassan", "Hiroshi", "Ian", "Ines", "Isabel", "Isaac", "Ivan",
    "Jack", "Jacob", "James", "Jasmine", "Javier", "Jennifer", "Jessica", "Jin", "Joanna",
    "John", "Jonas", "Jordan", "Jose", "Joseph", "Julia", "Julian", "Kai", "Karen", "Kate",
    "Kenji", "Kevin", "Laila", "Lars", "Laura", "Leah", "Leo", "Liam", "Lina", "Lucas", "Lucia",
    "Luis", "Maya", "Marco", "Maria", "Mark", "Marta", "Mateo", "Matthew", "Mei", "Mia",
    "Michael", "Miguel", "Mohammed", "Nadia", "Naomi", "Nathan", "Nia", "Nicole", "Nikhil",
    "Noah", "Nora", "Olivia", "Omar", "Oscar", "Pablo", "Paul", "Pedro", "Priya", "Rachel",
    "Rafael", "Rahul", "Ravi", "Rebecca", "Ryan", "Samuel", "Sara", "Sebastian", "Sofia",
    "Sophie", "Stefan", "Sunil", "Tariq", "Thomas", "Tom", "Valentina", "Victor", "Wei",
    "William", "Yara", "Yuki", "Zara", "Zoe",
)

LAST_NAMES = (
    "Abbott", "Adams", "Ahmed", "Alvarez", "Andersen", "Anderson", "Bailey", "Baker", "Banerjee",
    "Barnes", "Becker", "Bell", "Bennett", "Berg", "Brooks", "Brown", "Bruno", "Campbell",
    "Carter", "Castillo", "Chen", "Clark", "Collins", "Cooper", "Costa", "Cruz", "Dang", "Davies",
    "Davis", "Diaz", "Dubois", "Edwards", "Evans", "Fernandez", "Fischer", "Fleming", "Flores",
    "Foster", "Garcia", "Gomez", "Gonzalez", "Gray", "Green", "Gupta", "Hall", "Hansen", "Harris",
    "Hayes", "Hernandez", "Hill", "Hoffmann", "Howard", "Hughes", "Ibrahim", "Ito", "Jackson",
    "Jensen", "Johansson", "Johnson", "Jones", "Kaur", "Kelly", "Khan", "Kim", "King", "Klein",
    "Kowalski", "Kumar", "Larsen", "Laurent", "Lee", "Lewis", "Li", "Lopez", "Martin",
    "Martinez", "Mendes", "Meyer", "Miller", "Mitchell", "Moore", "Morales", "Moreau", "Morgan",
    "Murphy", "Murray", "Nakamura", "Nguyen", "Nielsen", "Novak", "Okafor", "Oliveira", "Olsen",
    "Ortiz", "Park", "Patel", "Perez", "Peters", "Petrov", "Phillips", "Price", "Quinn", "Ramirez",
    "Reed", "Reyes", "Richter", "Rivera", "Roberts", "Robinson", "Rodriguez", "Rossi", "Russo",
    "Sanchez", "Santos", "Sato", "Schmidt", "Schneider", "Scott", "Shah", "Silva", "Singh",
    "Smith", "Sousa", "Stewart", "Sullivan", "Suzuki", "Tanaka", "Taylor", "Thomas", "Thompson",
    "Torres", "Turner", "Walker", "Wang", "Ward", "Watanabe", "Weber", "White", "Williams",
    "Wilson", "Wong", "Wright", "Wu", "Yamamoto", "Young", "Zhang", "Zimmermann",
)

# Contact titles by role position: champion, sponsor, decision maker, admin, user.
CHAMPION_TITLES = (
    "Head of Operations", "Operations Manager", "Director of Customer Operations",
    "Revenue Operations Manager", "Program Manager", "Head of Analytics",
)
SPONSOR_TITLES = ("VP Operations", "Chief Operating Officer", "VP Customer Experience",
                  "Chief Revenue Officer", "VP Sales")
DECISION_MAKER_TITLES = ("Director of IT", "Procurement Manager", "Chief Financial Officer",
                         "Head of Procurement", "VP Finance")
ADMIN_TITLES = ("Systems Administrator", "IT Manager", "Salesforce Administrator",
                "Business Systems Analyst")
USER_TITLES = (
    "Analyst", "Account Executive", "Account Manager", "Customer Success Manager",
    "Marketing Specialist", "Operations Analyst", "Support Specialist", "Data Analyst",
    "Project Manager", "Sales Development Rep", "Product Manager", "Finance Analyst",
    "Team Lead", "Consultant",
)

STAFF_TEAMS = ("Enterprise", "Mid-Market", "Scale")

PRODUCTS = ("Boomerang Core", "Analytics", "Automation", "Premium Support")
PLANS = ("Starter", "Growth", "Enterprise")

FEATURE_EVENTS = (
    "Dashboard Viewed", "Report Created", "Comment Added", "Export Generated",
    "Workflow Automated", "Integration Connected",
)
FEATURE_PROPERTIES = (
    ('{"dashboard":"Overview"}', '{"dashboard":"Pipeline"}', '{"dashboard":"Team"}',
     '{"dashboard":"Revenue"}'),
    ('{"report_type":"usage","widgets":4}', '{"report_type":"revenue","widgets":6}',
     '{"report_type":"funnel","widgets":3}', '{"report_type":"custom","widgets":9}'),
    ('{"object":"report","length":42}', '{"object":"dashboard","length":120}',
     '{"object":"workflow","length":18}'),
    ('{"format":"csv","rows":1200}', '{"format":"xlsx","rows":350}', '{"format":"pdf","pages":4}'),
    ('{"workflow":"lead routing","steps":5}', '{"workflow":"weekly digest","steps":3}',
     '{"workflow":"renewal reminder","steps":4}'),
    ('{"integration":"salesforce"}', '{"integration":"hubspot"}', '{"integration":"slack"}',
     '{"integration":"snowflake"}', '{"integration":"zendesk"}'),
)
PAGES = ("Home", "Dashboard", "Reports", "Workflows", "Settings", "Integrations", "Accounts")
LOGIN_METHODS = ('{"method":"password"}', '{"method":"sso"}', '{"method":"google"}')

TICKET_SUBJECTS = (
    (  # severity 1
        "Production outage: dashboards not loading for all users",
        "SSO login failing for every user since this morning",
        "Data sync stopped: no new records in 12 hours",
        "API returning 500 errors on every request",
        "Workflows not running: customer emails not sent",
        "Exports failing with timeout across the workspace",
    ),
    (  # severity 2
        "Salesforce sync failing intermittently",
        "Report totals do not match our CRM",
        "Scheduled export missing data for last week",
        "Several users locked out after password reset",
        "Webhook deliveries delayed by several hours",
        "Automation triggered twice for the same record",
        "Slow dashboard load times (over 30 seconds)",
    ),
    (  # severity 3
        "How do I share a dashboard with external users?",
        "Custom field not showing in report builder",
        "Need help configuring role permissions",
        "Chart colours reset after page refresh",
        "Question about API rate limits",
        "CSV import rejects dates in DD/MM/YYYY format",
        "Email digest going to spam for some recipients",
        "Cannot reorder columns in the accounts table",
    ),
    (  # severity 4
        "Feature request: dark mode",
        "Typo in the onboarding checklist",
        "Request for an invoice copy",
        "How do I change my notification settings?",
        "Feature request: export to Google Sheets",
        "Please add a second billing contact",
        "Question about the product roadmap",
    ),
)

CALL_SUBJECTS = ("Check-in call", "Adoption review call", "Renewal planning call",
                 "Escalation follow-up call", "Roadmap walkthrough", "Admin training session")
EMAIL_SUBJECTS = ("Monthly usage summary", "Follow-up: next steps", "New features this month",
                  "Invitation: customer webinar", "Renewal reminder", "Best practices guide")
NOTE_RISK = (
    "Usage is trending down; champion sounded less engaged. Plan a value review.",
    "Budget pressure mentioned by the sponsor; renewal at risk.",
    "Several support escalations this quarter; customer frustrated with sync issues.",
    "Team adoption stalled after the reorg; need a re-onboarding plan.",
)
NOTE_NEUTRAL = (
    "Steady usage; no blockers raised. Keep the regular cadence.",
    "Customer asked for admin training for two new team members.",
    "Discussed roadmap items; interested in the upcoming reporting features.",
)
NOTE_POSITIVE = (
    "Strong adoption across teams; sponsor open to a case study.",
    "Expansion opportunity: another department wants access.",
    "Champion offered to be a reference for prospects.",
    "Customer hit their first success milestone ahead of plan.",
)
# fmt: on
