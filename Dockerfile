# One image, one role per build: the extras (and torch) a role needs, nothing more.
#   bot:        docker build --build-arg EXTRAS=telegram,discord,redis,s3 .
#   worker:     docker build --build-arg EXTRAS=speech,voice,redis,s3 --build-arg TORCH=cpu .
#   worker-gpu: docker build --build-arg EXTRAS=speech,voice,redis,s3 --build-arg TORCH=cuda .
# TORCH=cpu installs the pinned CPU wheel (constraints.txt pins torch==2.13.0; an unpinned torch pulls GBs of
# CUDA wheels). TORCH=cuda installs the same version built for CUDA from TORCH_CUDA_INDEX: the CUDA runtime
# ships inside the wheel, the host needs only the NVIDIA driver and the NVIDIA Container Toolkit.
FROM python:3.11-slim

# fonts-nanum: a Hangul font, so the talk-time and timeline charts show Korean names (ASCII labels without it).
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng ffmpeg libsndfile1 fonts-nanum \
    && rm -rf /var/lib/apt/lists/*

ARG EXTRAS=telegram,discord,redis,s3
ARG TORCH=none
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_CUDA_INDEX=https://download.pytorch.org/whl/cu128

WORKDIR /app
COPY . /app

RUN pip install --no-cache-dir --upgrade pip setuptools wheel \
    && case "$TORCH" in \
         cpu)  pip install --no-cache-dir --index-url "$TORCH_CPU_INDEX" torch==2.13.0 ;; \
         cuda) pip install --no-cache-dir --index-url "$TORCH_CUDA_INDEX" torch==2.13.0 ;; \
         none) ;; \
         *) echo "TORCH must be none, cpu or cuda" >&2; exit 1 ;; \
       esac \
    && pip install --no-cache-dir -c constraints.txt -e ".[${EXTRAS}]" \
    && if pip show resemblyzer >/dev/null 2>&1; then \
         # resemblyzer pulls webrtcvad, which breaks on current setuptools; webrtcvad-wheels is the same module
         pip uninstall -y webrtcvad && pip install --no-cache-dir --force-reinstall --no-deps 'webrtcvad-wheels>=2.0.14'; \
       fi

ENV VOS_DATA_DIR=/data
VOLUME ["/data"]
CMD ["vos", "run"]
