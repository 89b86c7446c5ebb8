"""Gets tokens from the dev issuer with Microsoft's own Python clients, unmodified, as an app would.

Run by Tests/DevIssuerTests/MicrosoftClientTests.swift against an https dev issuer on loopback:

    python3 ms_clients.py --base https://127.0.0.1:PORT --tenant TID --client-id ID --secret S \
        --cert a.crt --key a.key --ca tls.crt --identity-header H [--scope api://service-b/.default]

Each client gets a token for the scope: MSAL Python's ConfidentialClientApplication with the secret,
with the certificate (SHA-256 thumbprint, PS256, x5c) and with a SHA-1 thumbprint (RS256, as
azure-identity and ADFS-era code do); azure-identity's ClientSecretCredential, CertificateCredential
and, with IDENTITY_ENDPOINT and IDENTITY_HEADER set as App Service sets them,
ManagedIdentityCredential and DefaultAzureCredential. The authority is the dev issuer with instance
discovery off (it is not one of Microsoft's hosts), and the dev issuer's CA is trusted through
REQUESTS_CA_BUNDLE, the variable an unmodified app would be given.

Prints one JSON line: {"versions": {...}, "tokens": {name: token}, "errors": {name: reason}}.
Exits 0 when every client got a token, 1 when any failed, 3 when msal or azure-identity is missing.
"""

import argparse
import binascii
import json
import os
import sys
import tempfile


def hermetic_environment(ca, identity_endpoint, identity_header):
    """Only what this run sets: no Azure settings, proxies or CA bundles inherited from the machine."""
    for name in list(os.environ):
        upper = name.upper()
        if (upper.startswith(("AZURE_", "MSI_", "IDENTITY_", "IMDS_")) or upper.endswith("_PROXY")
                or upper in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")):
            del os.environ[name]
    # Loopback only: nothing goes through a proxy even if one appears later.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"
    # requests (under MSAL and azure-core) reads this when verify is left at its default.
    os.environ["REQUESTS_CA_BUNDLE"] = ca
    # App Service's managed-identity variables, as the platform sets them for the app.
    os.environ["IDENTITY_ENDPOINT"] = identity_endpoint
    os.environ["IDENTITY_HEADER"] = identity_header


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the dev issuer's https base URL")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--cert", required=True, help="PEM certificate registered for the client")
    parser.add_argument("--key", required=True, help="its PEM private key")
    parser.add_argument("--ca", required=True, help="PEM bundle that signs the dev issuer's TLS certificate")
    parser.add_argument("--identity-header", required=True, help="the managed-identity header secret")
    parser.add_argument("--identity-endpoint", help="default: BASE/msi/token")
    parser.add_argument("--scope", default="api://service-b/.default")
    args = parser.parse_args()

    try:
        import msal
        import azure.identity
        from azure.identity import (CertificateCredential, ClientSecretCredential, DefaultAzureCredential,
                                    ManagedIdentityCredential)
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
    except ImportError as error:
        print(json.dumps({"missing": str(error)}))
        return 3

    base = args.base.rstrip("/")
    hermetic_environment(args.ca, args.identity_endpoint or base + "/msi/token", args.identity_header)
    authority = "{}/{}".format(base, args.tenant)
    # azure-identity takes the authority host without the tenant; https:// is its default scheme.
    authority_host = base
    with open(args.cert) as f:
        certificate = f.read()
    with open(args.key) as f:
        private_key = f.read()
    sha1 = binascii.hexlify(x509.load_pem_x509_certificate(certificate.encode()).fingerprint(hashes.SHA1())).decode()
    # CertificateCredential reads one PEM file holding the key and the certificate.
    combined = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)
    combined.write(private_key + "\n" + certificate)
    combined.close()

    def msal_app(credential):
        return msal.ConfidentialClientApplication(
            args.client_id, client_credential=credential, authority=authority,
            # The dev issuer is not among Microsoft's hosts: without this MSAL asks
            # login.microsoftonline.com whether it is an authority, and it is not.
            instance_discovery=False,
            # Each client starts from nothing, so every token here was issued for this run.
            token_cache=msal.TokenCache())

    def msal_token(credential):
        result = msal_app(credential).acquire_token_for_client(scopes=[args.scope])
        if "access_token" not in result:
            raise RuntimeError("{}: {}".format(result.get("error"), result.get("error_description")))
        return result["access_token"]

    def azure_token(credential):
        return credential.get_token(args.scope).token

    clients = [
        ("msal_secret", lambda: msal_token(args.secret)),
        # MSAL 1.35+ computes the SHA-256 thumbprint itself: PS256 with x5t#S256, and x5c.
        ("msal_certificate", lambda: msal_token({"private_key": private_key, "public_certificate": certificate})),
        # A SHA-1 thumbprint given explicitly: RS256 with x5t, as older configurations do.
        ("msal_certificate_sha1", lambda: msal_token({"private_key": private_key, "thumbprint": sha1})),
        ("azure_client_secret", lambda: azure_token(ClientSecretCredential(
            args.tenant, args.client_id, args.secret, authority=authority_host, disable_instance_discovery=True))),
        ("azure_certificate", lambda: azure_token(CertificateCredential(
            args.tenant, args.client_id, certificate_path=combined.name, authority=authority_host,
            disable_instance_discovery=True))),
        ("azure_certificate_chain", lambda: azure_token(CertificateCredential(
            args.tenant, args.client_id, certificate_path=combined.name, authority=authority_host,
            disable_instance_discovery=True, send_certificate_chain=True))),
        # No arguments: the credential finds App Service from IDENTITY_ENDPOINT and IDENTITY_HEADER.
        ("azure_managed_identity", lambda: azure_token(ManagedIdentityCredential())),
        ("azure_managed_identity_client_id", lambda: azure_token(ManagedIdentityCredential(client_id=args.client_id))),
        # What most apps use; with no AZURE_* variables its first working source is managed identity.
        ("azure_default", lambda: azure_token(DefaultAzureCredential())),
    ]
    tokens, errors = {}, {}
    try:
        for name, get in clients:
            try:
                tokens[name] = get()
            except Exception as error:  # every client is tried; the report names each failure
                errors[name] = "{}: {}".format(type(error).__name__, error)[:2000]
    finally:
        os.unlink(combined.name)
    versions = {"msal": msal.__version__, "azure-identity": azure.identity.__version__}
    print(json.dumps({"versions": versions, "tokens": tokens, "errors": errors}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
