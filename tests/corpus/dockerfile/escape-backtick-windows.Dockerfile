# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
WORKDIR C:\app
COPY . C:\app\
RUN powershell -Command `
    Write-Host "a\b" ; `
    dir C:\
ENV GOPATH=C:\go PATH="C:\Program Files\x"
LABEL note=a``b c=d
ADD ["C:\\src", "C:\\dst\\"]
SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]
RUN Get-ChildItem `
    -Path C:\ `
    -Filter *.txt
