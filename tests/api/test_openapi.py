"""The OpenAPI document is generated from the code and covers every API route."""


def test_every_api_route_is_documented(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in documented, (path, method)
    undocumented = [(p, m) for p, ops in document["paths"].items() for m, op in ops.items() if op.get("x-undocumented")]
    assert undocumented == []


def test_schema_references_resolve(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    for ref in refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref


def test_operations_carry_their_schemas_and_scopes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    patch = paths["/api/v1/instances/{public_id}"]["patch"]
    assert patch["x-required-scope"] == "write"
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/InstanceUpdate")
    listing = paths["/api/v1/instances"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"limit", "starting_after"}
    assert "401" in listing["responses"]
    assert paths["/api/v1/openapi.json"]["get"]["security"] == []
