# VOS as an installed wheel: the first stage builds it, the second installs it with the extras a role needs.
#   bot:        docker build --build-arg EXTRAS=telegram,discord,speech,voice,redis,s3 --build-arg TORCH=cpu .
#   worker:     docker build --build-arg EXTRAS=speech,voice,redis,s3 --build-arg TORCH=cpu .
#   worker-gpu: docker build --build-arg EXTRAS=speech,voice,redis,s3 --build-arg TORCH=cuda .
# TORCH=cpu installs the pinned CPU wheel from the PyTorch CPU index (constraints.txt pins torch==2.13.0;
# PyPI's Linux torch is the CUDA build, GBs of nvidia wheels). TORCH=cuda installs the same version built for
# CUDA from TORCH_CUDA_INDEX: the CUDA runtime ships inside the wheel, the host needs only the NVIDIA driver and
# the NVIDIA Container Toolkit. No compiler anywhere: resemblyzer is installed without its `webrtcvad`
# requirement (an sdist that needs gcc); the voice extra brings webrtcvad-wheels, the same module prebuilt.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . /src
RUN pip wheel --no-cache-dir --no-deps -w /dist .

FROM python:3.11-slim

# espeak-ng: offline speech; ffmpeg, sox, libsndfile1: audio tools; fonts-nanum: a Hangul font, so the
# talk-time and timeline charts show Korean names (ASCII labels without it).
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng ffmpeg sox libsndfile1 fonts-nanum \
    && rm -rf /var/lib/apt/lists/*

ARG EXTRAS=telegram,discord,redis,s3
ARG TORCH=none
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_CUDA_INDEX=https://download.pytorch.org/whl/cu128

COPY constraints.txt /tmp/constraints.txt
COPY --from=wheel /dist /dist
RUN pip install --no-cache-dir --upgrade pip \
    && case "$TORCH" in \
         cpu)  pip install --no-cache-dir -c /tmp/constraints.txt --index-url "$TORCH_CPU_INDEX" torch ;; \
         cuda) pip install --no-cache-dir -c /tmp/constraints.txt --index-url "$TORCH_CUDA_INDEX" torch ;; \
         none) ;; \
         *) echo "TORCH must be none, cpu or cuda" >&2; exit 1 ;; \
       esac \
    && wheel="$(ls /dist/vos-*.whl)" \
    && pip install --no-cache-dir -c /tmp/constraints.txt "${wheel}${EXTRAS:+[$EXTRAS]}" \
    && case ",$EXTRAS," in \
         *,voice,*) pip install --no-cache-dir -c /tmp/constraints.txt --no-deps resemblyzer ;; \
       esac \
    && rm -rf /dist

# The image holds no source tree: prompts and migrations come from the installed package.
WORKDIR /app
ENV VOS_DATA_DIR=/data
VOLUME ["/data"]
CMD ["vos", "run"]
