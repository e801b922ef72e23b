{{/*
Prefix of every object name: fullnameOverride, or the release name. At most 41 characters, refused rather than
cut: <prefix>-postgresql names a StatefulSet, whose pods fail past 52 (their revision label adds 11).
*/}}
{{- define "todo.prefix" -}}
{{- $prefix := default .Release.Name .Values.fullnameOverride -}}
{{- if gt (len $prefix) 41 -}}
{{- fail (printf "name prefix %q (the release name, or fullnameOverride) has %d characters: at most 41, so that %s-postgresql stays within Kubernetes' 52 for a StatefulSet" $prefix (len $prefix) $prefix) -}}
{{- end -}}
{{- $prefix -}}
{{- end }}

{{/* Name of a component's objects: <prefix>-<component>. Call with (list $ "frontend"). */}}
{{- define "todo.name" -}}
{{- printf "%s-%s" (include "todo.prefix" (index . 0)) (index . 1) -}}
{{- end }}

{{/* Labels every object carries. Call with (list $ "frontend"). */}}
{{- define "todo.labels" -}}
{{- $ := index . 0 -}}
helm.sh/chart: {{ printf "%s-%s" $.Chart.Name $.Chart.Version }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: todo-list
{{ include "todo.selectorLabels" . }}
{{- end }}

{{/* Selector labels: the spec's app: <component> plus the standard name/instance/component. */}}
{{- define "todo.selectorLabels" -}}
app: {{ index . 1 }}
{{ include "todo.releaseSelectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/*
The labels every pod of this release carries, and only its pods: another release of the chart in the namespace
has another instance, another app another name.
*/}}
{{- define "todo.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
imageTag: repository:tag, the tag defaulting to the chart's appVersion, refused unless it is a release version (the
schema says so too; this holds with --skip-schema-validation and for a chart packaged with another appVersion).
Call with (list $ .Values.frontend.image), or (list $ .Values.postgresql.image "postgres") for a PostgreSQL release.
*/}}
{{- define "todo.imageTag" -}}
{{- $ := index . 0 -}}
{{- $image := index . 1 -}}
{{- $tag := toString (default $.Chart.AppVersion $image.tag) -}}
{{- $pattern := ternary "^[1-9][0-9]*(\\.(0|[1-9][0-9]*))?(-[a-z0-9]+)?$" "^v(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$" (gt (len .) 2) -}}
{{- if not (regexMatch $pattern $tag) -}}
{{- fail (printf "image %s: tag %q is not a release version (%s)" $image.repository $tag (ternary "MAJOR[.MINOR] of PostgreSQL" "vMAJOR.MINOR.PATCH" (gt (len .) 2))) -}}
{{- end -}}
{{- printf "%s:%s" $image.repository $tag -}}
{{- end }}

{{/*
image: what the container runs. repository@digest when image.digest is set (the registry cannot move it), else
repository:tag; the tag is checked either way, since it stays on the pod for people (label and annotation).
Call as todo.imageTag.
*/}}
{{- define "todo.image" -}}
{{- $tagged := include "todo.imageTag" . -}}
{{- $image := index . 1 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- $tagged -}}
{{- end -}}
{{- end }}

{{/* Where the frontend proxies /api/. */}}
{{- define "todo.apiUrl" -}}
{{- default (printf "http://%s:%v" (include "todo.name" (list . "backend")) .Values.backend.service.port) .Values.frontend.config.apiUrl -}}
{{- end }}

{{/* Name of the Secret the backend reads. */}}
{{- define "todo.backendSecretName" -}}
{{- default (printf "%s-secret" (include "todo.name" (list . "backend"))) .Values.backend.secret.existingSecret -}}
{{- end }}

{{/*
A secret value that is stable across upgrades: the value given, else the one already in the cluster's Secret,
else a new random one. Call with (list $ "<secret name>" "<key>" <given value>). The answer is remembered for the
render, so the Secret and the checksums on the pod templates see the same value, generated or not.
*/}}
{{- define "todo.stableSecret" -}}
{{- $ := index . 0 -}}
{{- if not (hasKey $.Values "__todoStableSecrets") -}}
{{- $_ := set $.Values "__todoStableSecrets" dict -}}
{{- end -}}
{{- $memo := get $.Values "__todoStableSecrets" -}}
{{- $key := printf "%s/%s" (index . 1) (index . 2) -}}
{{- if not (hasKey $memo $key) -}}
{{- $existing := lookup "v1" "Secret" $.Release.Namespace (index . 1) -}}
{{- $current := "" -}}
{{- if and $existing $existing.data -}}
{{- $current = index $existing.data (index . 2) | default "" | b64dec -}}
{{- end -}}
{{- $_ := set $memo $key (index . 3 | default $current | default (randAlphaNum 40)) -}}
{{- end -}}
{{- get $memo $key -}}
{{- end }}

{{/* The data of the embedded database's Secret, as JSON (values in clear: callers encode or hash them). */}}
{{- define "todo.postgresqlSecretData" -}}
{{- $pg := .Values.postgresql -}}
{{- $password := include "todo.stableSecret" (list . (include "todo.name" (list . "postgresql")) "POSTGRES_PASSWORD" $pg.auth.password) -}}
{{- dict "POSTGRES_USER" $pg.auth.username "POSTGRES_PASSWORD" $password "POSTGRES_DB" $pg.auth.database | toJson -}}
{{- end }}

{{/*
The data of the backend's Secret, as JSON; empty object when backend.secret.existingSecret names another. The
database's address is in the ConfigMap, its credentials here; DATABASE_URL only as the override given.
*/}}
{{- define "todo.backendSecretData" -}}
{{- if .Values.backend.secret.existingSecret -}}
{{- dict | toJson -}}
{{- else -}}
{{- $s := .Values.backend.secret -}}
{{- $data := dict -}}
{{- if .Values.postgresql.enabled -}}
{{- $pg := include "todo.postgresqlSecretData" . | fromJson -}}
{{- $data = dict "DATABASE_USER" $pg.POSTGRES_USER "DATABASE_PASSWORD" $pg.POSTGRES_PASSWORD -}}
{{- else if and $s.databaseUser $s.databasePassword -}}
{{- $data = dict "DATABASE_USER" $s.databaseUser "DATABASE_PASSWORD" $s.databasePassword -}}
{{- else -}}
{{- $_ := required "backend.secret.databaseUser and backend.secret.databasePassword (or backend.secret.databaseUrl) are required when postgresql.enabled is false and no backend.secret.existingSecret is given" $s.databaseUrl -}}
{{- end -}}
{{- with $s.databaseUrl -}}
{{- $_ := set $data "DATABASE_URL" . -}}
{{- end -}}
{{- $_ := set $data "JWT_SECRET" (include "todo.stableSecret" (list . (include "todo.backendSecretName" .) "JWT_SECRET" $s.jwtSecret)) -}}
{{- $_ := set $data "OPENAI_API_KEY" $s.openaiApiKey -}}
{{- $data | toJson -}}
{{- end -}}
{{- end }}

{{/*
checksum/secret of the backend's pods: a changed Secret rolls them. The chart's own Secret is hashed as rendered;
an existingSecret (rotated from the vault) as the cluster holds it, looked up: empty without a cluster (helm
template), which keeps that render stable.
*/}}
{{- define "todo.backendSecretChecksum" -}}
{{- if .Values.backend.secret.existingSecret -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace .Values.backend.secret.existingSecret -}}
{{- get $existing "data" | default dict | toJson | sha256sum -}}
{{- else -}}
{{- include "todo.backendSecretData" . | sha256sum -}}
{{- end -}}
{{- end }}

{{/* The external database's CA certificate (PEM), or empty: none is given, or the embedded database is used. */}}
{{- define "todo.databaseCaCert" -}}
{{- if not .Values.postgresql.enabled -}}
{{- .Values.backend.config.database.caCert -}}
{{- end -}}
{{- end }}

{{/* Where the backend container finds that certificate (DATABASE_SSLROOTCERT). */}}
{{- define "todo.databaseCaDir" -}}
/etc/todo-list/database-ca
{{- end }}

{{/* An HTTP probe from a probe block of values. Call with (list <probe values> <port>). */}}
{{- define "todo.httpProbe" -}}
{{- $probe := index . 0 -}}
httpGet:
  path: {{ $probe.path }}
  port: {{ index . 1 }}
initialDelaySeconds: {{ $probe.initialDelaySeconds }}
periodSeconds: {{ $probe.periodSeconds }}
timeoutSeconds: {{ $probe.timeoutSeconds }}
failureThreshold: {{ $probe.failureThreshold }}
{{- end }}

{{/*
Refuse limits below requests, naming the container and the values (the schema cannot compare two fields).
Call with (list "<container>" <resources values>).
*/}}
{{- define "todo.validateResources" -}}
{{- $name := index . 0 -}}
{{- $res := index . 1 -}}
{{- range $kind := list "cpu" "memory" "ephemeral-storage" -}}
{{- $request := index $res.requests $kind -}}
{{- $limit := index $res.limits $kind -}}
{{- if and $request $limit (gt (include "todo.quantity" $request | float64) (include "todo.quantity" $limit | float64)) -}}
{{- fail (printf "%s: resources.limits.%s (%v) is below resources.requests.%s (%v); limits must be >= requests." $name $kind $limit $kind $request) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* A CPU or memory quantity as a plain number (cores or bytes), for comparisons. */}}
{{- define "todo.quantity" -}}
{{- $q := toString . -}}
{{- $units := dict "m" 0.001 "k" 1000.0 "K" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 -}}
{{- $number := regexFind "^[0-9.]+" $q -}}
{{- $unit := trimPrefix $number $q -}}
{{- mulf ($number | float64) (get $units $unit | default 1.0) -}}
{{- end }}
