# The Lambda functions' code. Every AWS::Serverless::Function in template.yaml has
# `Metadata: BuildMethod: makefile`, so `sam build` runs `make build-<LogicalId>` here with ARTIFACTS_DIR
# set, and whatever lands in ARTIFACTS_DIR is that function's code: the pipeline package and nothing
# else of the repository. CodeUri "." is only where this Makefile is found; SAM's own Python builder would
# have copied the whole tree (coursepipe-keys/private_key.pem, tests/, coursepipe-out/, web/node_modules)
# into every function. Python dependencies come from PythonDepsLayer (layers/python), ffmpeg from
# FfmpegLayer (layers/ffmpeg). tests/unit/test_artifact.py builds every target and checks the result.
#
#   make build-IngestFunction ARTIFACTS_DIR=/tmp/ingest    # one function's tree, outside sam build
#
# Left out of the package: the local runtime (pipeline/local: moto, the dev sign-in page), the CLI and the
# demo course, none of which a handler imports; caches; and any key file, wherever someone put one.
# hls.js and mermaid (the two files of web/node_modules the lesson pages publish, with their licences) go
# to vendor/, where pipeline/text/page.py looks for them; without `npm ci --prefix web` first the pages are
# published without them (a warning here, and one in the function's log). mermaid.min.js is its IIFE
# build: one self-contained file (no chunks to publish beside it, no eval).

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
HLS_JS_DIR := $(ROOT)/web/node_modules/hls.js
MERMAID_DIR := $(ROOT)/web/node_modules/mermaid

FUNCTIONS := IngestFunction ClassifyFunction ProbeMediaFunction PlanEncodeFunction EncodeChunkFunction \
	EncodeAudioFunction PackageHlsFunction MakeDownloadsFunction MakeThumbnailsFunction ImageVariantsFunction \
	RenderLessonFunction RenderCaptionsFunction PublishAttachmentFunction ExtractSubtitlesFunction BuildCourseFunction RecordAssetFunction RecordFailureFunction \
	UnpublishAssetFunction CatalogApiFunction SessionFunction PreTokenFunction

EXCLUDES := --exclude=__pycache__ --exclude='*.pyc' --exclude='*.pem' --exclude='*.key' \
	--exclude=pipeline/local --exclude=pipeline/sample --exclude=pipeline/cli \
	--exclude=pipeline/__main__.py

.PHONY: $(addprefix build-,$(FUNCTIONS))

# One recipe for all: the functions differ only in their handler, which is in the package.
$(addprefix build-,$(FUNCTIONS)):
	@set -eu; \
	if [ -z "$(ARTIFACTS_DIR)" ]; then echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; fi; \
	mkdir -p "$(ARTIFACTS_DIR)"; \
	(cd "$(ROOT)" && tar -cf - $(EXCLUDES) pipeline) | tar -xf - -C "$(ARTIFACTS_DIR)"; \
	if [ -f "$(HLS_JS_DIR)/dist/hls.min.js" ]; then \
	  mkdir -p "$(ARTIFACTS_DIR)/vendor/hls.js"; \
	  cp "$(HLS_JS_DIR)/dist/hls.min.js" "$(ARTIFACTS_DIR)/vendor/hls.js/hls.min.js"; \
	  if [ -f "$(HLS_JS_DIR)/LICENSE" ]; then \
	    cp "$(HLS_JS_DIR)/LICENSE" "$(ARTIFACTS_DIR)/vendor/hls.js/LICENSE"; \
	  fi; \
	else \
	  echo "warning: $(HLS_JS_DIR)/dist/hls.min.js is missing (npm ci --prefix web): pages will play only" \
	    "where the browser has native HLS" >&2; \
	fi; \
	if [ -f "$(MERMAID_DIR)/dist/mermaid.min.js" ]; then \
	  mkdir -p "$(ARTIFACTS_DIR)/vendor/mermaid"; \
	  cp "$(MERMAID_DIR)/dist/mermaid.min.js" "$(ARTIFACTS_DIR)/vendor/mermaid/mermaid.min.js"; \
	  if [ -f "$(MERMAID_DIR)/LICENSE" ]; then \
	    cp "$(MERMAID_DIR)/LICENSE" "$(ARTIFACTS_DIR)/vendor/mermaid/LICENSE"; \
	  fi; \
	else \
	  echo "warning: $(MERMAID_DIR)/dist/mermaid.min.js is missing (npm ci --prefix web): Mermaid" \
	    "diagrams will show their source" >&2; \
	fi
