{{/* Names and labels, Bitnami/Helm-create style. */}}
{{- define "sogs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sogs.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sogs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sogs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sogs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sogs.labels" -}}
helm.sh/chart: {{ include "sogs.chart" . }}
{{ include "sogs.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "sogs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sogs.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sogs.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "sogs.cluster" -}}
{{- if eq .Values.mode "cluster" }}true{{ end }}
{{- end }}

{{/* The key Secret: the user's, or the one the chart generates (fullname-key). */}}
{{- define "sogs.keySecretName" -}}
{{- default (printf "%s-key" (include "sogs.fullname" .)) .Values.key.existingSecret }}
{{- end }}

{{/* The chart's own Secret of URLs and S3 credentials given as values. */}}
{{- define "sogs.urlSecretName" -}}
{{- printf "%s-urls" (include "sogs.fullname" .) }}
{{- end }}

{{- define "sogs.baseUrl" -}}
{{- if .Values.baseUrl }}
{{- .Values.baseUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- if .Values.ingress.tls }}{{ printf "https://%s" $host }}{{ else }}{{ printf "http://%s" $host }}{{ end }}
{{- else }}
{{- printf "http://%s" (include "sogs.fullname" .) }}
{{- end }}
{{- end }}

{{- define "sogs.replicas" -}}
{{- if include "sogs.cluster" . }}{{ .Values.replicaCount }}{{ else }}1{{ end }}
{{- end }}

{{/* The uploads live on a volume (single mode always; cluster mode unless S3). */}}
{{- define "sogs.uploadsOnVolume" -}}
{{- if not .Values.uploads.s3.enabled }}true{{ end }}
{{- end }}

{{- define "sogs.pvcName" -}}
{{- default (printf "%s-data" (include "sogs.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/*
Environment shared by the server, the migration Job and the test pod: configuration by
SOGS_* variables, secrets by reference.
*/}}
{{- define "sogs.env" -}}
- name: SOGS_SERVER_LISTEN
  value: "0.0.0.0:8080"
- name: SOGS_SERVER_BASE_URL
  value: {{ include "sogs.baseUrl" . | quote }}
- name: SOGS_SERVER_DATA_DIR
  value: /data
- name: SOGS_SERVER_KEY_FILE
  value: /keys/key_x25519
- name: SOGS_LOG_FORMAT
  value: json
- name: SOGS_METRICS_LISTEN
  value: {{ if .Values.metrics.enabled }}{{ printf "0.0.0.0:%d" (int .Values.metrics.port) | quote }}{{ else }}""{{ end }}
{{- if include "sogs.cluster" . }}
- name: SOGS_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "sogs.urlSecretName" .) .Values.database.existingSecret }}
      key: {{ if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}database-url{{ end }}
- name: SOGS_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "sogs.urlSecretName" .) .Values.redis.existingSecret }}
      key: {{ if .Values.redis.existingSecret }}{{ .Values.redis.existingSecretKey }}{{ else }}redis-url{{ end }}
- name: SOGS_DATABASE_MAX_CONNECTIONS
  value: {{ .Values.database.maxConnections | quote }}
- name: SOGS_DATABASE_MIGRATE_ON_START
  value: {{ if .Values.migrations.job }}"false"{{ else }}"true"{{ end }}
{{- end }}
{{- if .Values.uploads.s3.enabled }}
- name: SOGS_FILES_S3_ENDPOINT
  value: {{ .Values.uploads.s3.endpoint | quote }}
- name: SOGS_FILES_S3_BUCKET
  value: {{ .Values.uploads.s3.bucket | quote }}
{{- if .Values.uploads.s3.region }}
- name: SOGS_FILES_S3_REGION
  value: {{ .Values.uploads.s3.region | quote }}
{{- end }}
- name: SOGS_FILES_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default (include "sogs.urlSecretName" .) .Values.uploads.s3.existingSecret }}
      key: {{ if .Values.uploads.s3.existingSecret }}accessKey{{ else }}s3-access-key{{ end }}
- name: SOGS_FILES_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default (include "sogs.urlSecretName" .) .Values.uploads.s3.existingSecret }}
      key: {{ if .Values.uploads.s3.existingSecret }}secretKey{{ else }}s3-secret-key{{ end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes for the key, the data directory and the optional TOML config. */}}
{{- define "sogs.volumes" -}}
- name: key
  secret:
    secretName: {{ include "sogs.keySecretName" . }}
    defaultMode: 0440
    items:
      - key: {{ if .Values.key.existingSecret }}{{ .Values.key.secretKey }}{{ else }}key_x25519{{ end }}
        path: key_x25519
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- if include "sogs.cluster" . }}
- name: data
  emptyDir: {}
{{- if and (include "sogs.uploadsOnVolume" .) .Values.persistence.enabled }}
- name: uploads
  persistentVolumeClaim:
    claimName: {{ include "sogs.pvcName" . }}
{{- end }}
{{- else }}
- name: data
{{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "sogs.pvcName" . }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}
{{- if .Values.config }}
- name: config
  configMap:
    name: {{ include "sogs.fullname" . }}-config
{{- end }}
{{- end }}

{{- define "sogs.volumeMounts" -}}
- name: key
  mountPath: /keys
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /data
{{- if and (include "sogs.cluster" .) (include "sogs.uploadsOnVolume" .) .Values.persistence.enabled }}
- name: uploads
  mountPath: /data/uploads
{{- end }}
{{- if .Values.config }}
- name: config
  mountPath: /etc/sogs
  readOnly: true
{{- end }}
{{- end }}
