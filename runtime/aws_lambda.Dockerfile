# Lithops container runtime for AWS Lambda with what this project's functions import, pinned by
# requirements.lock (the lock stays the one source of versions). Build it from the project root, where
# `lithops runtime build` also drops Lithops' handler (lithops_lambda.zip) into the build context:
#
#   python -m aqstudy.backends.lithops_yaml backend=aws_lambda storage=s3 > .lithops_config
#   .venv/bin/lithops runtime build -b aws_lambda -f runtime/aws_lambda.Dockerfile lithops-aq:0.1.0
#
# Lithops pushes the image to ECR and deploys one function per (runtime, memory) on first use. Python must be
# the host's minor version (3.11): Lithops refuses a runtime built for another one. What the image holds is
# ~214 MB installed; without boto3 and awslambdaric it also fits a zip + layer deployment (runtime/installed_size.py).

# Stage 1: the study's package as a wheel, its scanner (C) compiled for the image's CPU baseline (no -march:
# Lambda's hosts vary). The compiler stays in this stage.
FROM python:3.11-slim-bookworm AS package
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY pyproject.toml setup.py README.md ./
COPY runtime/check_compiler.py runtime/
COPY src/aqstudy src/aqstudy
RUN python runtime/check_compiler.py && pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# Stage 2: the function's runtime.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends unzip \
    && rm -rf /var/lib/apt/lists/*

ARG FUNCTION_DIR="/function"
WORKDIR ${FUNCTION_DIR}

# Only the function side (runtime/function-requirements.txt: Lithops and its dependencies, orjson, boto3), at
# the locked versions; no numpy, no pyarrow, no numba.
COPY requirements.lock runtime/function-requirements.txt /tmp/
RUN pip install --no-cache-dir --constraint /tmp/requirements.lock -r /tmp/function-requirements.txt \
    && rm /tmp/requirements.lock /tmp/function-requirements.txt

# The study's package with its compiled scanner: a map imports it in ~1 ms. The Lithops config excludes
# aqstudy from what Lithops ships with each job (lithops.exclude_modules), so this copy is the one imported.
# Rebuild the image when src/aqstudy changes.
COPY --from=package /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && python -c "from aqstudy.kernel import warm; warm()"

# Lithops' Lambda handler.
COPY lithops_lambda.zip ${FUNCTION_DIR}
RUN unzip lithops_lambda.zip \
    && rm lithops_lambda.zip \
    && mkdir handler \
    && touch handler/__init__.py \
    && mv entry_point.py handler/

ENTRYPOINT [ "/usr/local/bin/python", "-m", "awslambdaric" ]
CMD [ "handler.entry_point.lambda_handler" ]
