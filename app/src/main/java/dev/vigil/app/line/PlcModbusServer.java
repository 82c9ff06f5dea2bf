package dev.vigil.app.line;

import com.digitalpetri.modbus.server.ModbusTcpServer;
import com.digitalpetri.modbus.tcp.server.NettyTcpServerTransport;
import dev.vigil.config.DeviceConfig;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.Set;

/**
 * The Modbus TCP server of {@code plc.modbus} ({@link ModbusSignals} is its address map). Modbus has no
 * authentication: it listens on {@code plc.modbus.host} only (loopback by default) and, when {@code plc.modbus.clients}
 * lists addresses, closes every other connection at once.
 */
public final class PlcModbusServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PlcModbusServer.class.getName());
    private final ModbusTcpServer server;
    private final int port;

    public PlcModbusServer(DeviceConfig.Modbus config, LineStations stations) {
        this.port = Line.port(config.host(), config.port(), "plc.modbus");
        Set<InetAddress> allowed = new HashSet<>();
        for (String c : config.clients()) {
            try {
                allowed.add(InetAddress.getByName(c));
            } catch (java.net.UnknownHostException e) {
                throw new dev.vigil.core.VigilException("plc.modbus.clients: '" + c + "' is not an IP address");
            }
        }
        NettyTcpServerTransport transport = NettyTcpServerTransport.create(b -> {
            b.setBindAddress(config.host());
            b.setPort(port);
            if (!allowed.isEmpty()) {
                b.setPipelineCustomizer(p -> p.addFirst(new AllowList(allowed, stations)));
            }
        });
        this.server = ModbusTcpServer.create(transport, new ModbusSignals(stations, config.unitId()));
        try {
            server.start();
        } catch (Exception e) {
            throw new dev.vigil.core.VigilException("plc.modbus: cannot listen on " + config.host() + ":" + port + " ("
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + "); choose a free"
                    + " plc.modbus.port (502 needs privileges) or another plc.modbus.host");
        }
        LOG.log(System.Logger.Level.INFO, "PLC: Modbus TCP on " + config.host() + ":" + port + ", unit "
                + config.unitId() + (allowed.isEmpty() ? ", any client that reaches it" : ", clients " + allowed));
    }

    /** The port it listens on (the chosen one when plc.modbus.port is 0). */
    public int port() {
        return port;
    }


    /** Closes connections from addresses not in plc.modbus.clients. */
    @ChannelHandler.Sharable
    private static final class AllowList extends ChannelInboundHandlerAdapter {
        private final Set<InetAddress> allowed;
        private final LineStations stations;

        AllowList(Set<InetAddress> allowed, LineStations stations) {
            this.allowed = allowed;
            this.stations = stations;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            if (ctx.channel().remoteAddress() instanceof InetSocketAddress a && !allowed.contains(a.getAddress())) {
                stations.refused("modbus", "client", "a connection from " + a.getAddress().getHostAddress()
                        + ", not in plc.modbus.clients");
                ctx.close();
                return;
            }
            super.channelActive(ctx);
        }
    }

    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "PLC: stopping the Modbus server: " + e.getMessage());
        }
    }
}
