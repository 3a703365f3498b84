"""Manifests and helpers shared by the kubectl scenario files."""

DEPLOYMENT_V1 = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - {name: A, value: "1"}
        ports:
        - {containerPort: 80, name: http}
        - {containerPort: 443, name: https}
"""

# Changes: image, one more env var, port 443 removed, replicas, label tier removed.
DEPLOYMENT_V2 = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.26
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        ports:
        - {containerPort: 80, name: http}
"""


def container(deploy):
    containers = deploy["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, containers
    return containers[0]
