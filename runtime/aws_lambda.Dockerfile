# Lithops container runtime for AWS Lambda with what this project's functions import, pinned by
# requirements.lock (the lock stays the one source of versions). Build it from the project root, where
# `lithops runtime build` also drops Lithops' handler (lithops_lambda.zip) into the build context:
#
#   python -m aqstudy.backends.lithops_yaml backend=aws_lambda storage=s3 > .lithops_config
#   .venv/bin/lithops runtime build -b aws_lambda -f runtime/aws_lambda.Dockerfile lithops-aq:0.1.0
#
# Lithops pushes the image to ECR and deploys one function per (runtime, memory) on first use. Python must be
# the host's minor version (3.11): Lithops refuses a runtime built for another one.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends unzip \
    && rm -rf /var/lib/apt/lists/*

ARG FUNCTION_DIR="/function"
WORKDIR ${FUNCTION_DIR}

# Only the function side: Lithops and its dependencies, numba (the map's compiled scanner), numpy, pyarrow,
# orjson, boto3 - at the locked versions.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --constraint /tmp/requirements.lock \
        awslambdaric==4.2.2 lithops numba numpy pyarrow orjson boto3 \
    && rm /tmp/requirements.lock

# The study's package: functions.py, kernel.py and scanner.py run inside every function. The Lithops config
# excludes it from what Lithops ships with each job (lithops.exclude_modules), so this copy is the one
# imported, and its scanner is compiled here, once, for a generic x86-64/arm64 CPU (Lambda's hosts vary):
# a cold start copies the cache to /tmp (aqstudy.kernel.scanner._seed_numba_cache) instead of compiling for ~20 s.
# Rebuild the image when src/aqstudy changes.
COPY src/aqstudy ${FUNCTION_DIR}/aqstudy
ENV NUMBA_CPU_NAME=generic \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    AQSTUDY_NUMBA_CACHE_SEED=${FUNCTION_DIR}/numba-cache
RUN NUMBA_CACHE_DIR=${FUNCTION_DIR}/numba-cache python -c "from aqstudy import kernel; kernel.warm()"

# Lithops' Lambda handler.
COPY lithops_lambda.zip ${FUNCTION_DIR}
RUN unzip lithops_lambda.zip \
    && rm lithops_lambda.zip \
    && mkdir handler \
    && touch handler/__init__.py \
    && mv entry_point.py handler/

ENTRYPOINT [ "/usr/local/bin/python", "-m", "awslambdaric" ]
CMD [ "handler.entry_point.lambda_handler" ]
