#!/usr/bin/env python3
"""Writes the support-bundle corpus of tests/diagnose.rs: one directory per failure class
of shared/specs/customer-failures.md, each with what a customer pastes (a real RS256 JWT
in kube-apiserver's shape, the discovery document, the JWKS, `aws iam get-...` output,
`kubectl get -o yaml` output, the webhook's flags, the error text and its time) and the
`expected-cause` diagnose must pick.

The keys are fresh test keys made on each run (never committed): the tokens' kids are
their real SHA-256 kids, as kube-apiserver derives them. Needs python3 with
`cryptography` and `pyyaml`. Run from the repository root:

    python3 tests/bundles/generate.py

New keys mean new kids everywhere: refresh the README's example ("Reproduce a customer's
bug") afterwards; `cargo test --test diagnose -- readme` says when it is stale.
"""

import base64
import copy
import hashlib
import json
import os
import shutil

import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1764000000  # 2025-11-24T16:00:00Z: when the failing pod's token was issued
ACCOUNT = "444455556666"
REGION = "us-west-2"
ISS = "https://s3.us-west-2.amazonaws.com/acme-prod-oidc"
NS, SA, POD = "payments", "uploader", "uploader-7d9f8b6c4-x2x9k"
ROLE = "payments-s3-reader"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
KEY_RETRIEVAL = ("An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity "
                 "operation: Couldn't retrieve verification key from your identity provider,  please "
                 "reference AssumeRoleWithWebIdentity documentation for requirements")


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def kid_of(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64(hashlib.sha256(der).digest())


def jwk(key, kid="derive"):
    numbers = key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    out = {"use": "sig", "kty": "RSA"}
    if kid is not None:
        out["kid"] = kid_of(key) if kid == "derive" else kid
    out.update({"alg": "RS256", "n": b64(n), "e": b64(e)})
    return out


def token(key, claims, kid="derive"):
    header = {"alg": "RS256"}
    if kid is not None:
        header["kid"] = kid_of(key) if kid == "derive" else kid
    signing_input = (b64(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()))
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64(signature)


def claims(iss=ISS, aud="sts.amazonaws.com", iat=T0, lifetime=86400, ns=NS, sa=SA, jti=True):
    out = {
        "aud": [aud], "exp": iat + lifetime, "iat": iat, "iss": iss, "nbf": iat,
        "sub": f"system:serviceaccount:{ns}:{sa}",
        "kubernetes.io": {
            "namespace": ns,
            "node": {"name": "ip-10-0-3-17", "uid": "5b1c9d2e-7f3a-4c1e-9a8b-2d4f6e8a0c1b"},
            "pod": {"name": POD, "uid": "e0c4a1f2-3b5d-4e6f-8a9b-0c1d2e3f4a5b"},
            "serviceaccount": {"name": sa, "uid": "a7b8c9d0-e1f2-4a3b-8c5d-6e7f8a9b0c1d"},
        },
    }
    if jti:
        out["jti"] = "9f8e7d6c-5b4a-4c3d-9e2f-1a0b9c8d7e6f"
    return out


def discovery(iss=ISS, jwks_uri=None, issuer_field=None):
    return {
        "issuer": issuer_field or iss,
        "jwks_uri": jwks_uri or f"{iss}/keys.json",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def provider(url=ISS, client_ids=("sts.amazonaws.com",), thumbprints=("9e99a48a9960b14926bb7f3b02e22da2b0ab7280",)):
    return {
        "Url": url.removeprefix("https://"),
        "ClientIDList": list(client_ids),
        "ThumbprintList": list(thumbprints),
        "CreateDate": "2025-06-01T10:00:00+00:00",
        "Tags": [],
    }


def trust(iss=ISS, ns=NS, sa=SA, federated=None, op="StringEquals"):
    key = iss.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": federated or f"arn:aws:iam::{ACCOUNT}:oidc-provider/{key}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {op: {f"{key}:sub": f"system:serviceaccount:{ns}:{sa}", f"{key}:aud": "sts.amazonaws.com"}},
        }],
    }


def role(policy, created="2025-06-01T10:05:00+00:00", max_session=3600):
    return {"Role": {
        "Path": "/", "RoleName": ROLE, "RoleId": "AROAWXYZ3EXAMPLE7Q2KD", "Arn": ROLE_ARN,
        "CreateDate": created, "AssumeRolePolicyDocument": policy, "Description": "payments uploader",
        "MaxSessionDuration": max_session, "RoleLastUsed": {},
    }}


def service_account(annotations=None, name=SA, ns=NS):
    return {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {
            "name": name, "namespace": ns, "uid": "a7b8c9d0-e1f2-4a3b-8c5d-6e7f8a9b0c1d",
            "resourceVersion": "48211", "creationTimestamp": "2025-06-01T10:10:00Z",
            "annotations": annotations if annotations is not None else {"eks.amazonaws.com/role-arn": ROLE_ARN},
        },
    }


def pod(mutated=True, security=None, audience="sts.amazonaws.com", ns=NS, sa=SA):
    env = [{"name": "LOG_LEVEL", "value": "info"}]
    mounts = [{"name": "kube-api-access-9xk2p", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True}]
    volumes = [{"name": "kube-api-access-9xk2p", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}]
    if mutated:
        env += [
            {"name": "AWS_DEFAULT_REGION", "value": REGION}, {"name": "AWS_REGION", "value": REGION},
            {"name": "AWS_ROLE_ARN", "value": ROLE_ARN},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
        ]
        mounts.append({"name": "aws-iam-token", "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount", "readOnly": True})
        volumes.insert(0, {"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {"audience": audience, "expirationSeconds": 86400, "path": "token"}}]}})
    spec = {
        "serviceAccountName": sa, "serviceAccount": sa, "nodeName": "ip-10-0-3-17",
        "containers": [{"name": "uploader", "image": "registry.acme.example/payments/uploader:4.2.1",
                        "env": env, "volumeMounts": mounts, "terminationMessagePath": "/dev/termination-log"}],
        "volumes": volumes, "restartPolicy": "Always",
    }
    if security:
        spec["securityContext"] = security
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": POD, "namespace": ns, "labels": {"app": "uploader"}, "uid": "e0c4a1f2-3b5d-4e6f-8a9b-0c1d2e3f4a5b"},
        "spec": spec, "status": {"phase": "Running"},
    }


def write(name, files, cause):
    path = os.path.join(HERE, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    for file, content in files.items():
        if content is None:
            continue
        with open(os.path.join(path, file), "w") as f:
            if file.endswith(".json"):
                f.write(json.dumps(content, indent=2) + "\n")
            elif file.endswith(".yaml"):
                f.write(yaml.safe_dump(content, sort_keys=False))
            else:
                f.write(content.rstrip("\n") + "\n")
    with open(os.path.join(path, "expected-cause"), "w") as f:
        f.write(cause + "\n")


def base(key, **over):
    files = {
        "token": token(key, claims()),
        "discovery.json": discovery(),
        "jwks.json": {"keys": [jwk(key)]},
        "provider.json": provider(),
        "role.json": role(trust()),
        "pod.yaml": pod(),
        "serviceaccount.yaml": service_account(),
        "webhook-flags.txt": f"--aws-default-region={REGION} --in-cluster=false --tls-cert=/etc/webhook/certs/tls.crt",
        "at.txt": str(T0 + 60),
    }
    files.update(over)
    return files


def main():
    key, old = new_key(), new_key()
    write("pre-1-16-no-kid", base(key, **{
        "token": token(key, claims(jti=False), kid=None),
        "error.txt": KEY_RETRIEVAL,
    }), "empty-kid")
    write("documents-not-public", base(key, **{"error.txt": KEY_RETRIEVAL}), "documents-not-public")
    write("bucket-refuses-acls", base(key, **{"error.txt": (
        "upload failed: ./keys.json to s3://acme-prod-oidc/keys.json An error occurred (AccessControlListNotSupported) "
        "when calling the PutObject operation: The bucket does not allow ACLs\n" + KEY_RETRIEVAL)}), "bucket-refuses-acls")
    slash = ISS + "/"
    write("trailing-slash", base(key, **{
        "token": token(key, claims(iss=slash)),
        "discovery.json": discovery(iss=ISS, issuer_field=slash),
        "error.txt": f"An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: No OpenIDConnect provider found in your account for {slash}",
    }), "issuer-trailing-slash")
    write("rotation-signer-before-republish", base(key, **{
        "jwks.json": {"keys": [jwk(old)]},
        "error.txt": KEY_RETRIEVAL,
    }), "rotation-kid-not-published")
    cdn = "https://d1a2b3c4d5e6f7.cloudfront.net"
    write("cdn-stale-jwks", base(key, **{
        "token": token(key, claims(iss=cdn)),
        "discovery.json": discovery(iss=cdn),
        "jwks.json": {"keys": [jwk(old)]},
        "provider.json": provider(url=cdn, thumbprints=()),
        "role.json": role(trust(iss=cdn)),
        "error.txt": KEY_RETRIEVAL,
    }), "cdn-stale-jwks")
    write("no-provider", base(key, **{
        "provider.json": None,
        "error.txt": f"An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: No OpenIDConnect provider found in your account for {ISS}",
    }), "no-provider")
    with open(os.path.join(HERE, "no-provider", "provider.json"), "w") as f:
        f.write(f"An error occurred (NoSuchEntity) when calling the GetOpenIDConnectProvider operation: "
                f"OpenIDConnect Provider not found for arn arn:aws:iam::{ACCOUNT}:oidc-provider/{ISS.removeprefix('https://')}\n")
    write("wrong-client-id-sts-amazon-com", base(key, **{
        "provider.json": provider(client_ids=("sts.amazon.com",)),
        "error.txt": "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Incorrect token audience",
    }), "client-id-typo")
    write("trust-policy-wrong-namespace", base(key, **{
        "role.json": role(trust(ns="default")),
        "error.txt": "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    }), "trust-condition-mismatch")
    vhost = "https://acme-prod-oidc.s3.us-west-2.amazonaws.com"
    write("federated-without-arn-prefix", base(key, **{
        "token": token(key, claims(iss=vhost)),
        "discovery.json": discovery(iss=vhost),
        "provider.json": provider(url=vhost),
        "role.json": role(trust(iss=vhost, federated=vhost.removeprefix("https://"))),
        "error.txt": "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    }), "trust-principal-not-provider")
    k8s = "https://k8s.acme.example"
    write("thumbprint-mismatch", base(key, **{
        "token": token(key, claims(iss=k8s)),
        "discovery.json": discovery(iss=k8s, jwks_uri=f"{k8s}/openid/v1/jwks"),
        "provider.json": provider(url=k8s),
        "role.json": role(trust(iss=k8s)),
        "error.txt": "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint",
    }), "thumbprint-mismatch")
    write("iam-propagation", base(key, **{
        "role.json": role(trust(), created="2025-11-24T16:00:30+00:00"),
        "error.txt": "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    }), "iam-propagation")
    o7k = ISS + "/o7k"
    write("apiserver-jwks-uri", base(key, **{
        "token": token(key, claims(iss=o7k)),
        "discovery.json": discovery(iss=o7k, jwks_uri="https://10.20.0.5:6443/openid/v1/jwks"),
        "provider.json": provider(url=o7k),
        "role.json": role(trust(iss=o7k)),
        "error.txt": KEY_RETRIEVAL,
    }), "jwks-uri-unreachable")
    write("webhook-fails-open", base(key, **{
        "pod.yaml": pod(mutated=False),
        "error.txt": ("Unable to locate credentials. You can configure credentials by running \"aws configure\".\n"
                      "W1124 16:00:58.123456 1 dispatcher.go:205] Failed calling webhook, failing open iam-for-pods.amazonaws.com: "
                      "failed calling webhook \"iam-for-pods.amazonaws.com\": failed to call webhook: Post "
                      "\"https://pod-identity-webhook.eks.svc:443/mutate?timeout=10s\": tls: failed to verify certificate: "
                      "x509: certificate signed by unknown authority"),
    }), "webhook-tls-fails-open")
    write("webhook-down-fail-closed", base(key, **{
        "pod.yaml": pod(mutated=False),
        "error.txt": ("Error creating: Internal error occurred: failed calling webhook \"iam-for-pods.amazonaws.com\": failed to call "
                      "webhook: Post \"https://pod-identity-webhook.eks.svc:443/mutate?timeout=10s\": dial tcp 10.96.14.2:443: "
                      "connect: connection refused"),
    }), "webhook-down-fail-closed")
    write("token-file-unreadable", base(key, **{
        "pod.yaml": pod(security={"runAsUser": 1000, "runAsNonRoot": True}),
        "error.txt": "open /var/run/secrets/eks.amazonaws.com/serviceaccount/token: permission denied",
    }), "token-file-unreadable")
    at = T0 + 7200 + 3600
    write("expired-token-reused", base(key, **{
        "token": token(key, claims(lifetime=3600)),
        "serviceaccount.yaml": service_account({"eks.amazonaws.com/role-arn": ROLE_ARN, "eks.amazonaws.com/token-expiration": "3600"}),
        "at.txt": None,
        "error.txt": f"ExpiredTokenException: Token expired: current date/time {at} must be before the expiration date/time {T0 + 3600}",
    }), "expired-token-reused")
    write("cluster-clock-ahead", base(key, **{
        "token": token(key, claims(iat=T0 + 600)),
        "at.txt": str(T0),
        "error.txt": ("An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: The web identity "
                      "token that was passed could not be validated by Amazon Web Services. Get a new identity token from the "
                      "identity provider and then retry the request."),
    }), "clock-ahead")
    write("jwk-without-kid", base(key, **{
        "jwks.json": {"keys": [jwk(key, kid=None)]},
        "error.txt": KEY_RETRIEVAL,
    }), "jwk-without-kid")
    write("audience-annotation-not-a-client-id", base(key, **{
        "token": token(key, claims(aud="k8s-prod")),
        "serviceaccount.yaml": service_account({"eks.amazonaws.com/role-arn": ROLE_ARN, "eks.amazonaws.com/audience": "k8s-prod"}),
        "pod.yaml": pod(audience="k8s-prod"),
        "error.txt": "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Incorrect token audience",
    }), "audience-not-client-id")
    two = trust()
    other = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    two["Statement"][0]["Condition"]["StringEquals"][f"{other}:sub"] = f"system:serviceaccount:{NS}:{SA}"
    write("trust-policy-two-clusters-one-block", base(key, **{
        "role.json": role(two),
        "error.txt": "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    }), "trust-condition-mismatch")
    write("webhook-not-registered", base(key, **{
        "pod.yaml": pod(mutated=False),
        "error.txt": ("Unable to locate credentials. You can configure credentials by running \"aws configure\".\n"
                      "$ kubectl get mutatingwebhookconfiguration pod-identity-webhook\n"
                      "Error from server (NotFound): mutatingwebhookconfigurations.admissionregistration.k8s.io \"pod-identity-webhook\" not found"),
    }), "webhook-not-registered")
    write("session-duration-exceeds-max", base(key, **{
        "role-arn.txt": ROLE_ARN,
        "error.txt": ("An error occurred (ValidationError) when calling the AssumeRoleWithWebIdentity operation: The requested "
                      "DurationSeconds exceeds the MaxSessionDuration set for this role."),
    }), "duration-exceeds-max")


if __name__ == "__main__":
    main()
