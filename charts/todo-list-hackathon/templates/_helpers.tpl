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
{{- $ := index . 0 -}}
app: {{ index . 1 }}
app.kubernetes.io/name: {{ $.Chart.Name }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/*
image: repository:tag, the tag defaulting to the chart's appVersion, refused unless it is a release version (the
schema says so too; this holds with --skip-schema-validation and for a chart packaged with another appVersion).
Call with (list $ .Values.frontend.image), or (list $ .Values.postgresql.image "postgres") for a PostgreSQL release.
*/}}
{{- define "todo.image" -}}
{{- $ := index . 0 -}}
{{- $image := index . 1 -}}
{{- $tag := toString (default $.Chart.AppVersion $image.tag) -}}
{{- $pattern := ternary "^[1-9][0-9]*(\\.(0|[1-9][0-9]*))?(-[a-z0-9]+)?$" "^v(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$" (gt (len .) 2) -}}
{{- if not (regexMatch $pattern $tag) -}}
{{- fail (printf "image %s: tag %q is not a release version (%s)" $image.repository $tag (ternary "MAJOR[.MINOR] of PostgreSQL" "vMAJOR.MINOR.PATCH" (gt (len .) 2))) -}}
{{- end -}}
{{- printf "%s:%s" $image.repository $tag -}}
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

{{/* The data of the backend's Secret, as JSON; empty object when backend.secret.existingSecret names another. */}}
{{- define "todo.backendSecretData" -}}
{{- if .Values.backend.secret.existingSecret -}}
{{- dict | toJson -}}
{{- else -}}
{{- $pg := .Values.postgresql -}}
{{- $databaseUrl := .Values.backend.secret.databaseUrl -}}
{{- if $pg.enabled -}}
{{- $password := (include "todo.postgresqlSecretData" . | fromJson).POSTGRES_PASSWORD -}}
{{- $databaseUrl = printf "postgresql://%s:%s@%s:5432/%s" $pg.auth.username $password (include "todo.name" (list . "postgresql")) $pg.auth.database -}}
{{- end -}}
{{- $databaseUrl = required "backend.secret.databaseUrl is required when postgresql.enabled is false and no backend.secret.existingSecret is given" $databaseUrl -}}
{{- $jwt := include "todo.stableSecret" (list . (include "todo.backendSecretName" .) "JWT_SECRET" .Values.backend.secret.jwtSecret) -}}
{{- dict "DATABASE_URL" $databaseUrl "JWT_SECRET" $jwt "OPENAI_API_KEY" .Values.backend.secret.openaiApiKey | toJson -}}
{{- end -}}
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
