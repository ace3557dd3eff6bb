FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng ffmpeg libsndfile1 make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
ARG EXTRAS=telegram,discord
RUN pip install --no-cache-dir -c constraints.txt -e ".[${EXTRAS}]"
ENV VOS_DATA_DIR=/data
CMD ["vos", "run"]
