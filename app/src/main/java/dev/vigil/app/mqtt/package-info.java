/**
 * The service's MQTT side (DESIGN.md, "MQTT" contract): {@link dev.vigil.app.mqtt.Topics} builds every topic,
 * the payload records ({@link dev.vigil.app.mqtt.AlertPayload}, {@link dev.vigil.app.mqtt.InspectionPayload},
 * {@link dev.vigil.app.mqtt.StatusPayload}, {@link dev.vigil.app.mqtt.ModelStatePayload}) are written by one codec
 * ({@link dev.vigil.app.mqtt.Payloads}), and {@link dev.vigil.app.mqtt.MqttLink} connects, announces availability,
 * receives commands and delivers alerts through outages via an on-disk journal.
 */
package dev.vigil.app.mqtt;
