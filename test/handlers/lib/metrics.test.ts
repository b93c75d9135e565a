import { emfFields } from '../../../src/handlers/lib/metrics';

test('an EMF document: namespace, ApiId dimension, four Count metrics with their values', () => {
  expect(emfFields('WebSocketChat', 'abc123', { delivered: 5, gone: 1, failed: 2, recipients: 8 }, 1700000000000)).toEqual({
    _aws: {
      Timestamp: 1700000000000,
      CloudWatchMetrics: [
        {
          Namespace: 'WebSocketChat',
          Dimensions: [['ApiId']],
          Metrics: [
            { Name: 'PostsDelivered', Unit: 'Count' },
            { Name: 'ConnectionsGone', Unit: 'Count' },
            { Name: 'PostsFailed', Unit: 'Count' },
            { Name: 'Recipients', Unit: 'Count' },
          ],
        },
      ],
    },
    ApiId: 'abc123',
    PostsDelivered: 5,
    ConnectionsGone: 1,
    PostsFailed: 2,
    Recipients: 8,
  });
});
