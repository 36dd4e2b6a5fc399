"""Names that make the synthetic data read like each city's: districts,
landmarks (with their approximate real positions) and incident kinds."""

from __future__ import annotations

DISTRICTS = {
    "barcelona": ["Ciutat Vella", "Eixample", "Sants-Montjuïc", "Les Corts", "Sarrià-Sant Gervasi", "Gràcia",
                  "Horta-Guinardó", "Nou Barris", "Sant Andreu", "Sant Martí"],
    "genova": ["Centro Est", "Centro Ovest", "Bassa Val Bisagno", "Media Val Bisagno", "Valpolcevera",
               "Medio Ponente", "Ponente", "Medio Levante", "Levante"],
    "london": ["Westminster", "Camden", "Islington", "Hackney", "Tower Hamlets", "Southwark", "Lambeth",
               "Kensington and Chelsea", "Greenwich", "Hammersmith and Fulham"],
    "bologna": ["Navile", "Porto-Saragozza", "San Donato-San Vitale", "Santo Stefano", "Savena",
                "Borgo Panigale-Reno"],
    "cornella": ["Centre", "Riera", "Almeda", "Sant Ildefons", "Gavarra", "Fontsanta-Fatjó", "Pedró", "Marina"],
    "lamia": ["Kentro", "Kastro", "Agios Loukas", "Agia Paraskevi"],
}

# (name, category, description, lon, lat)
LANDMARKS = {
    "barcelona": [
        ("Sagrada Família", "monument", "Gaudí's basilica, under construction since 1882", 2.1744, 41.4036),
        ("Park Güell", "park", "Gaudí's garden city on the Carmel hill", 2.1527, 41.4145),
        ("Casa Batlló", "monument", "Gaudí's remodelled house on Passeig de Gràcia", 2.1650, 41.3917),
        ("Museu Picasso", "museum", "Picasso's early work in five medieval palaces", 2.1810, 41.3852),
        ("Mercat de la Boqueria", "square", "The covered market off La Rambla", 2.1716, 41.3817),
        ("Palau de la Música Catalana", "monument", "Modernista concert hall by Domènech i Montaner", 2.1753, 41.3875),
    ],
    "genova": [
        ("Acquario di Genova", "museum", "Aquarium at the Porto Antico", 8.9267, 44.4102),
        ("Palazzo Ducale", "monument", "Palace of the Doges, now a cultural centre", 8.9339, 44.4075),
        ("Lanterna", "monument", "The lighthouse of the port, symbol of the city", 8.9048, 44.4040),
        ("Cattedrale di San Lorenzo", "monument", "Romanesque-Gothic cathedral", 8.9316, 44.4079),
        ("Palazzo Rosso", "museum", "Palace of the Strada Nuova museums", 8.9329, 44.4115),
        ("Spianata Castelletto", "square", "Belvedere over the old town", 8.9315, 44.4150),
    ],
    "london": [
        ("British Museum", "museum", "Human history, art and culture", -0.1270, 51.5194),
        ("Tower of London", "monument", "Norman castle on the Thames", -0.0759, 51.5081),
        ("National Gallery", "museum", "Western European painting", -0.1283, 51.5089),
        ("Tate Modern", "museum", "Modern art in the former Bankside power station", -0.0994, 51.5076),
        ("Natural History Museum", "museum", "Life and earth sciences", -0.1764, 51.4967),
        ("Westminster Abbey", "monument", "Gothic abbey church", -0.1273, 51.4994),
    ],
    "bologna": [
        ("Piazza Maggiore", "square", "The main square of the city", 11.3430, 44.4938),
        ("Due Torri", "monument", "The Asinelli and Garisenda towers", 11.3464, 44.4943),
        ("Basilica di San Petronio", "monument", "Gothic basilica on Piazza Maggiore", 11.3432, 44.4927),
        ("Archiginnasio", "monument", "Seat of the old university and its anatomical theatre", 11.3437, 44.4921),
        ("MAMbo", "museum", "Museum of modern art", 11.3319, 44.5026),
        ("Pinacoteca Nazionale", "museum", "Emilian painting from the 13th to the 18th century", 11.3524, 44.4971),
    ],
    "lamia": [
        ("Lamia Castle", "monument", "Fortress over the city, from antiquity to the Ottoman period", 22.4300, 38.9015),
        ("Archaeological Museum of Lamia", "museum", "Finds of Phthiotis, in the castle barracks", 22.4305, 38.9020),
        ("Laou Square", "square", "Square of the old town", 22.4343, 38.8997),
        ("Eleftherias Square", "square", "The central square and its cafés", 22.4352, 38.9004),
    ],
}

# Open311 services: (service_code, service_name, agency_responsible)
SERVICES = [
    ("pothole", "Pothole in the road", "Roads and maintenance"),
    ("streetlight", "Street light out", "Public lighting"),
    ("graffiti", "Graffiti on public property", "Urban cleaning"),
    ("waste", "Overflowing waste container", "Waste collection"),
    ("tree", "Damaged or fallen tree", "Parks and gardens"),
    ("noise", "Noise complaint", "Environment"),
]
# What a report of some of these services asks for (GeoReport v2 service-definition attributes)
SERVICE_ATTRIBUTES = {
    "pothole": [
        {"variable": True, "code": "depth", "datatype": "singlevaluelist", "required": True, "order": 1,
         "datatype_description": "Choose one", "description": "How deep is the hole?",
         "values": [{"key": "shallow", "name": "Less than 5 cm"}, {"key": "deep", "name": "5 cm or more"}]},
        {"variable": True, "code": "lane_blocked", "datatype": "singlevaluelist", "required": False, "order": 2,
         "datatype_description": None, "description": "Does it block a traffic lane?",
         "values": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}]},
    ],
    "streetlight": [
        {"variable": True, "code": "pole_number", "datatype": "string", "required": False, "order": 1,
         "datatype_description": "The number painted on the pole", "description": "Pole number, if you can read it"},
    ],
    "waste": [
        {"variable": True, "code": "container", "datatype": "multivaluelist", "required": True, "order": 1,
         "datatype_description": "One or more", "description": "Which containers are full?",
         "values": [{"key": "glass", "name": "Glass"}, {"key": "paper", "name": "Paper"},
                    {"key": "plastic", "name": "Packaging"}, {"key": "organic", "name": "Organic"},
                    {"key": "rest", "name": "Rest"}]},
    ],
}
